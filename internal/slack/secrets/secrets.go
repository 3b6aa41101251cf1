// Package secrets loads the Slack bot token and signing secret: from SSM
// Parameter Store (SecureString, decrypted) in AWS, from the environment
// locally. The values never reach a log: Secret prints and logs as a mask.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Secret is a credential. Its String, GoString and LogValue are masked, so
// passing one to fmt or slog by mistake leaks nothing; call Reveal where
// the value is really needed.
type Secret struct{ value string }

// New wraps a value.
func New(v string) Secret { return Secret{value: v} }

// Reveal returns the value.
func (s Secret) Reveal() string { return s.value }

// Empty reports whether no value was set.
func (s Secret) Empty() bool { return s.value == "" }

const mask = "[redacted]"

func (s Secret) String() string               { return mask }
func (s Secret) GoString() string             { return mask }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(mask) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(mask), nil }

// Slack is what the app needs.
type Slack struct {
	BotToken      Secret
	SigningSecret Secret
}

// Environment variables used locally.
const (
	EnvBotToken      = "MEDIC_SLACK_BOT_TOKEN"
	EnvSigningSecret = "MEDIC_SLACK_SIGNING_SECRET"
)

// FromEnv reads the two secrets from the environment. Either may be empty:
// without a token Medic does not post to Slack; without a signing secret
// the Slack endpoints are not served.
func FromEnv(getenv func(string) string) Slack {
	return Slack{BotToken: New(getenv(EnvBotToken)), SigningSecret: New(getenv(EnvSigningSecret))}
}

// ParameterAPI is the part of the SSM client used here.
type ParameterAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// FromSSM reads the two secrets from Parameter Store by name (SecureString
// parameters, decrypted). Errors name the parameter, never its value.
func FromSSM(ctx context.Context, api ParameterAPI, botTokenName, signingSecretName string) (Slack, error) {
	token, err := parameter(ctx, api, botTokenName)
	if err != nil {
		return Slack{}, err
	}
	signing, err := parameter(ctx, api, signingSecretName)
	if err != nil {
		return Slack{}, err
	}
	return Slack{BotToken: token, SigningSecret: signing}, nil
}

func parameter(ctx context.Context, api ParameterAPI, name string) (Secret, error) {
	if name == "" {
		return Secret{}, errors.New("secrets: SSM parameter name is empty")
	}
	out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return Secret{}, fmt.Errorf("secrets: reading SSM parameter %s: %w", name, err)
	}
	if out.Parameter == nil || aws.ToString(out.Parameter.Value) == "" {
		return Secret{}, fmt.Errorf("secrets: SSM parameter %s has no value", name)
	}
	return New(aws.ToString(out.Parameter.Value)), nil
}
