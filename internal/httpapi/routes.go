package httpapi

import (
	"net/http"

	"github.com/wholecare/wholecare/internal/apperr"
)

// routes is the one place every route is declared.
func (s *Server) routes() {
	s.mux.Handle("GET /healthz", s.serve(s.handleHealthz()))
	s.mux.Handle("GET /readyz", s.serve(s.handleReadyz()))
	s.mux.Handle("GET /metrics", s.serve(s.handleMetrics()))
	s.mux.Handle("GET /api/v1/version", s.serve(s.handleVersion()))
	s.mux.Handle("/", s.serve(func(w http.ResponseWriter, r *http.Request) error {
		return apperr.E(apperr.NotFound, "no such page: check the address")
	}))
}
