package postgres

import "time"

// SetListening makes Listen call f each time its LISTEN is in place, so that
// tests know when notifications can no longer be missed.
func SetListening(s *Store, f func()) { s.listening = f }

// SetIdleCheck sets how long Listen waits for a notification before it
// checks its connection.
func SetIdleCheck(s *Store, d time.Duration) { s.idleCheck = d }
