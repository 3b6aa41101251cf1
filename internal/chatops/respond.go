package chatops

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/medic-sre/medic/internal/slack/notify"
)

// Responder answers a request through its response_url.
type Responder interface {
	Respond(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error
}

// HTTPResponder posts to the response_url.
type HTTPResponder struct{ Client *http.Client }

// Respond implements Responder.
func (r HTTPResponder) Respond(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error {
	c := r.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return slack.PostWebhookCustomHTTPContext(ctx, responseURL, c, msg)
}

// ephemeral is a reply only the requester sees.
func ephemeral(text string, blocks ...slack.Block) *slack.WebhookMessage {
	return message(slack.ResponseTypeEphemeral, text, blocks...)
}

// inChannel is a reply everyone in the channel sees.
func inChannel(text string, blocks ...slack.Block) *slack.WebhookMessage {
	return message(slack.ResponseTypeInChannel, text, blocks...)
}

func message(kind, text string, blocks ...slack.Block) *slack.WebhookMessage {
	m := &slack.WebhookMessage{ResponseType: kind, Text: text}
	if len(blocks) > 0 {
		m.Blocks = &slack.Blocks{BlockSet: blocks}
	}
	return m
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, notify.Truncate(text, 2900), false, false), nil, nil)
}

// GroupResolver returns the user groups (subteam IDs) a user belongs to.
type GroupResolver interface {
	UserGroups(ctx context.Context, user string) ([]string, error)
}

// UserGroupsAPI is the part of the Slack Web API SlackGroups uses.
type UserGroupsAPI interface {
	GetUserGroupsContext(ctx context.Context, options ...slack.GetUserGroupsOption) ([]slack.UserGroup, error)
}

// SlackGroups resolves memberships with usergroups.list (scope
// usergroups:read), cached for TTL so a burst of commands costs one call.
type SlackGroups struct {
	API UserGroupsAPI
	TTL time.Duration // 0: five minutes
	Now func() time.Time

	mu      sync.Mutex
	groups  []slack.UserGroup
	fetched time.Time
}

// UserGroups implements GroupResolver.
func (g *SlackGroups) UserGroups(ctx context.Context, user string) ([]string, error) {
	groups, err := g.all(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, grp := range groups {
		if slices.Contains(grp.Users, user) {
			out = append(out, grp.ID)
		}
	}
	return out, nil
}

func (g *SlackGroups) all(ctx context.Context) ([]slack.UserGroup, error) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	ttl := g.TTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.groups != nil && now().Sub(g.fetched) < ttl {
		return g.groups, nil
	}
	groups, err := g.API.GetUserGroupsContext(ctx, slack.GetUserGroupsOptionIncludeUsers(true))
	if err != nil {
		return nil, err
	}
	g.groups, g.fetched = groups, now()
	return groups, nil
}
