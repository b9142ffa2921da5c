package cargo

import "github.com/crated/crated"

// IndexFile renders one crate's index file, the same bytes for the sparse
// index and the git index: for every version, in the order given (the
// store's publish order), the line stored at publish time with its yanked
// state applied, each ended by a newline. No versions give an empty file;
// the callers decide that such a crate has no file at all.
//
// It is a pure function so that every index that serves the file calls it
// and none keeps its own copy of the rule.
func IndexFile(vs []crated.IndexRow) ([]byte, error) {
	n := 0
	for _, v := range vs {
		n += len(v.Entry) + 1
	}
	// Setting yanked to true makes a line one byte shorter ("false" ->
	// "true") or, when the key is missing, longer; n is a close guess.
	body := make([]byte, 0, n)
	for _, v := range vs {
		var err error
		if body, err = AppendIndexLine(body, v.Entry, v.Yanked); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// AppendIndexLine appends one version's index line to dst: the stored
// line entry (which says "yanked":false) with yanked applied, and a
// newline.
func AppendIndexLine(dst, entry []byte, yanked bool) ([]byte, error) {
	if yanked {
		line, err := SetYanked(entry, true)
		if err != nil {
			return nil, err
		}
		entry = line
	}
	dst = append(dst, entry...)
	return append(dst, '\n'), nil
}
