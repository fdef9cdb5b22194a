package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// handleHealthz answers while the process is alive; it touches nothing else,
// so an orchestrator never restarts a process because its database is slow.
func (s *Server) handleHealthz() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, err := w.Write([]byte("ok\n"))
		return err
	}
}

// handleReadyz answers 200 only when the store answers within two seconds.
func (s *Server) handleReadyz() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.deps.Store.Ping(ctx); err != nil {
			s.deps.Log.Warn("not ready", "err", err)
			return apperr.Wrap(apperr.Unavailable, err, "store not ready")
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, err := w.Write([]byte("ready\n"))
		return err
	}
}

func (s *Server) handleMetrics() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		return s.deps.Metrics.WriteText(w)
	}
}

func (s *Server) handleVersion() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return encode(w, http.StatusOK, map[string]string{"version": s.deps.Version})
	}
}
