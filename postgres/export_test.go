package postgres

// SetListening makes Listen call f each time its LISTEN is in place, so that
// tests know when notifications can no longer be missed.
func SetListening(s *Store, f func()) { s.listening = f }
