module github.com/crated/crated

go 1.26
