package httpapi

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// userView is the public shape of a user: never a hash, secret or token.
type userView struct {
	ID               string    `json:"id"`
	Email            string    `json:"email"`
	Username         *string   `json:"username"`
	EmailVerified    bool      `json:"emailVerified"`
	Active           bool      `json:"active"`
	Role             string    `json:"role"`
	TwoFactorEnabled bool      `json:"twoFactorEnabled"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

func viewUser(u store.User) userView {
	v := userView{
		ID:               u.ID,
		Email:            u.Email,
		EmailVerified:    u.EmailVerified,
		Active:           u.Active,
		Role:             u.Role,
		TwoFactorEnabled: u.TwoFactorEnabled,
		CreatedAt:        u.CreatedAt.UTC(),
		UpdatedAt:        u.UpdatedAt.UTC(),
	}
	if u.Username != "" {
		v.Username = &u.Username
	}
	return v
}

// userBody is an answer that carries one user.
type userBody struct {
	User userView `json:"user"`
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, userBody{User: viewUser(principal(r).User)})
	return nil
}

func (s *Server) admin(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"message": "Welcome, administrator."})
	return nil
}

type sessionView struct {
	ID           string    `json:"id"`
	IPAddress    string    `json:"ipAddress"`
	UserAgent    string    `json:"userAgent"`
	CreatedAt    time.Time `json:"createdAt"`
	LastActivity time.Time `json:"lastActivity"`
	ExpiresAt    time.Time `json:"expiresAt"`
	Current      bool      `json:"current"`
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	list, err := s.auth.Sessions(r.Context(), p)
	if err != nil {
		return err
	}
	views := make([]sessionView, 0, len(list))
	for _, sess := range list {
		views = append(views, sessionView{
			ID:           sess.ID,
			IPAddress:    sess.IPAddress,
			UserAgent:    sess.UserAgent,
			CreatedAt:    sess.CreatedAt.UTC(),
			LastActivity: sess.LastActivity.UTC(),
			ExpiresAt:    s.auth.SessionExpiry(sess).UTC(),
			Current:      sess.ID == p.Session.ID,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": views})
	return nil
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.auth.RevokeSession(r.Context(), principal(r), r.PathValue("id"), s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type historyView struct {
	IPAddress string    `json:"ipAddress"`
	UserAgent string    `json:"userAgent"`
	Success   bool      `json:"success"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

func (s *Server) loginHistory(w http.ResponseWriter, r *http.Request) error {
	list, err := s.auth.LoginHistory(r.Context(), principal(r), 50)
	if err != nil {
		return err
	}
	views := make([]historyView, 0, len(list))
	for _, a := range list {
		views = append(views, historyView{
			IPAddress: a.IPAddress,
			UserAgent: a.UserAgent,
			Success:   a.Success,
			Reason:    a.Reason,
			CreatedAt: a.CreatedAt.UTC(),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": views})
	return nil
}
