package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// adminRoutes registers the admin API, for callers with the ADMIN role.
func (s *Server) adminRoutes() {
	const p = "/api/admin"
	admin := func(h handlerFunc) handlerFunc {
		return s.authed(s.requireRole(store.RoleAdmin, h))
	}
	s.handle("GET "+p+"/users", admin(s.adminUsers))
	s.handle("GET "+p+"/users/{id}", admin(s.adminUser))
	s.handle("PATCH "+p+"/users/{id}", admin(s.adminChangeUser))
	s.handle("DELETE "+p+"/users/{id}/sessions", admin(s.adminRevokeSessions))
	s.handle("GET "+p+"/audit", admin(s.adminAudit))
}

// pageLimit reads the limit query parameter: absent means the default,
// anything but a positive integer is refused, and values above the maximum
// are capped by the flows.
func pageLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, auth.Invalid("limit", "Limit must be a positive integer.")
	}
	return n, nil
}

type userPageView struct {
	Users      []userView `json:"users"`
	NextCursor string     `json:"nextCursor,omitempty"`
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.auth.SearchUsers(r.Context(), principal(r), q.Get("q"), limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	v := userPageView{Users: make([]userView, 0, len(page.Users)), NextCursor: page.NextCursor}
	for _, u := range page.Users {
		v.Users = append(v.Users, viewUser(u))
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) adminUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.auth.User(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": viewUser(u)})
	return nil
}

func (s *Server) adminChangeUser(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Role   *string `json:"role"`
		Active *bool   `json:"active"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	u, err := s.auth.ChangeAccess(r.Context(), principal(r), r.PathValue("id"),
		store.AccessChange{Role: in.Role, Active: in.Active}, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": viewUser(u)})
	return nil
}

func (s *Server) adminRevokeSessions(w http.ResponseWriter, r *http.Request) error {
	_, err := s.auth.RevokeUserSessions(r.Context(), principal(r), r.PathValue("id"), s.client(r))
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// auditEventView is the public shape of an audit event. Absent user and
// actor ids are null.
type auditEventView struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	UserID    *string           `json:"userId"`
	ActorID   *string           `json:"actorId"`
	IPAddress string            `json:"ipAddress"`
	UserAgent string            `json:"userAgent"`
	Detail    map[string]string `json:"detail"`
	CreatedAt time.Time         `json:"createdAt"`
}

type auditPageView struct {
	Events     []auditEventView `json:"events"`
	NextCursor string           `json:"nextCursor,omitempty"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.auth.AuditTrail(r.Context(), principal(r), auth.AuditFilter{
		UserID: q.Get("userId"),
		Type:   q.Get("type"),
		Limit:  limit,
		Cursor: q.Get("cursor"),
	})
	if err != nil {
		return err
	}
	v := auditPageView{Events: make([]auditEventView, 0, len(page.Events)),
		NextCursor: page.NextCursor}
	for _, e := range page.Events {
		detail := e.Detail
		if detail == nil {
			detail = map[string]string{}
		}
		v.Events = append(v.Events, auditEventView{
			ID:        e.ID,
			Type:      e.Type,
			UserID:    optional(e.UserID),
			ActorID:   optional(e.ActorID),
			IPAddress: e.IPAddress,
			UserAgent: e.UserAgent,
			Detail:    detail,
			CreatedAt: e.CreatedAt.UTC(),
		})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
