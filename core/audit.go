package core

import (
	"context"
	"log/slog"
)

// audit writes the one line a state change leaves: who, through which
// door, what (action and target), and how it ended (ok, or the error's
// kind and message). Every door's changes go through here, so the lines
// have one shape whichever door they came in by. Secrets (tokens, keys)
// are never among the attributes.
func (s *Service) audit(ctx context.Context, a Actor, action, target string, err error, attrs ...slog.Attr) {
	level, result := slog.LevelInfo, "ok"
	if err != nil {
		level = slog.LevelWarn
	}
	if !s.auditLog.Enabled(ctx, level) {
		return
	}
	line := make([]slog.Attr, 0, 7+len(attrs))
	line = append(line,
		slog.String("actor", a.who()),
		slog.String("door", string(a.Door)),
		slog.String("action", action),
		slog.String("target", target),
	)
	if err != nil {
		result = string(KindOf(err))
		line = append(line, slog.String("result", result), slog.String("err", err.Error()))
	} else {
		line = append(line, slog.String("result", result))
	}
	if a.Account != "" {
		line = append(line, slog.String("account", a.Account))
	}
	line = append(line, attrs...)
	s.auditLog.LogAttrs(ctx, level, "audit", line...)
}

func attrBool(k string, v bool) slog.Attr { return slog.Bool(k, v) }

func slogUser(name string) slog.Attr { return slog.String("user", name) }
