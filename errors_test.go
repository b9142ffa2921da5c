package crated_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/crated/crated"
)

func TestRetryAfterFollowsTheChain(t *testing.T) {
	err := fmt.Errorf("login: %w", crated.Retry(crated.ERATELIMIT, 3*time.Second, "slow down"))
	if got := crated.RetryAfter(err); got != 3*time.Second {
		t.Errorf("RetryAfter = %v, want 3s", got)
	}
	if got := crated.ErrorCode(err); got != crated.ERATELIMIT {
		t.Errorf("code = %q", got)
	}
	if got := crated.RetryAfter(crated.Errorf(crated.EINVALID, "x")); got != 0 {
		t.Errorf("plain error has RetryAfter %v", got)
	}
}
