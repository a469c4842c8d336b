package config

import (
	"testing"
	"time"
)

func TestLoadReadsCleanupSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		env                     map[string]string
		interval, history, audt time.Duration
	}{
		{"defaults are an hourly run, 90 days of history and a year of audit", nil,
			time.Hour, 90 * 24 * time.Hour, 365 * 24 * time.Hour},
		{"each variable takes durations in any accepted form", map[string]string{
			"CLEANUP_INTERVAL":        "15m",
			"LOGIN_HISTORY_RETENTION": "30d",
			"AUDIT_RETENTION":         "2d12h",
		}, 15 * time.Minute, 30 * 24 * time.Hour, 60 * time.Hour},
		{"bare integers are milliseconds", map[string]string{"CLEANUP_INTERVAL": "60000"},
			time.Minute, 90 * 24 * time.Hour, 365 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, tc.env)
			if c.CleanupInterval != tc.interval {
				t.Errorf("CleanupInterval = %v, want %v", c.CleanupInterval, tc.interval)
			}
			if c.LoginHistoryRetention != tc.history {
				t.Errorf("LoginHistoryRetention = %v, want %v", c.LoginHistoryRetention, tc.history)
			}
			if c.AuditRetention != tc.audt {
				t.Errorf("AuditRetention = %v, want %v", c.AuditRetention, tc.audt)
			}
		})
	}
}

func TestLoadRefusesInvalidCleanupSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, variable, value string
	}{
		{"an interval of zero", "CLEANUP_INTERVAL", "0"},
		{"a negative history retention", "LOGIN_HISTORY_RETENTION", "-1h"},
		{"an audit retention that is not a duration", "AUDIT_RETENTION", "forever"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			problems := loadProblems(t, map[string]string{tc.variable: tc.value})
			if len(problems) != 1 || problems[0].Var != tc.variable {
				t.Fatalf("problems = %+v, want one about %s", problems, tc.variable)
			}
		})
	}
}
