package chatops

import (
	"context"
	"errors"

	"github.com/medic-sre/medic/internal/chatops/access"
)

// Allowed reports whether who may approve or reject req: the approve
// grants of chatops.yaml and, when req names approvers, membership. It is
// the check a button click gets, exported so that `medic serve`'s
// POST /v1/tasks/{token}/… decides approvals by the same rule. Group
// memberships are looked up when a grant or the approvers need them.
func (a *Approvals) Allowed(ctx context.Context, req ApprovalRequest, who access.Who) error {
	if a.Access == nil {
		return errors.New("no approve grants are configured (chatops.yaml)")
	}
	if who.Groups == nil && a.Groups != nil && (len(req.Approvers) > 0 || a.Access.NeedsGroups()) {
		who.Groups, _ = a.Groups.UserGroups(ctx, who.User) // a failed lookup matches no group grant
	}
	return a.allowed(ctx, choice{req: req, who: who})
}
