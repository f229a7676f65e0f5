package reserve

// QueuedHolds is how many holds of s wait for their batch to start: a test
// that needs an arrival order waits for one request to be queued before it
// sends the next.
func QueuedHolds(s *Service) int {
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	return len(s.batch.queue)
}
