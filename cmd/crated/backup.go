package main

import (
	"context"
	"errors"
	"io"
)

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not yet")
}

func runGC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not yet")
}
