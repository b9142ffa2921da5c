package registry

import "github.com/crated/crated"

// Store gives the tests of this package the store behind the service; the
// rest of crated reads and writes through the service's methods.
func (s *Service) Store() crated.Store { return s.store }
