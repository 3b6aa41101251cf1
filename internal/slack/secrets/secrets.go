// Package secrets loads the Slack bot token and signing secret: from
// Secrets Manager or SSM Parameter Store (SecureString, decrypted) in AWS,
// from the environment locally. The values never reach a log: Secret prints and logs as a mask.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/medic-sre/medic/internal/secret"
)

// Secret is a credential. Its String, GoString and LogValue are masked, so
// passing one to fmt or slog by mistake leaks nothing; call Reveal where
// the value is really needed.
type Secret struct{ value string }

// New wraps a value and makes it a known secret (internal/secret), so
// every text scrubbed before it reaches Slack or a log masks it.
func New(v string) Secret {
	secret.Add(v)
	return Secret{value: v}
}

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

// SecretValueAPI is the part of the Secrets Manager client used here.
type SecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// FromSecretsManager reads the two secrets from Secrets Manager by ARN (or
// name): each secret's SecretString is the value itself, as the stack
// creates them. Errors name the secret, never its value.
func FromSecretsManager(ctx context.Context, api SecretValueAPI, botTokenID, signingSecretID string) (Slack, error) {
	token, err := secretValue(ctx, api, botTokenID)
	if err != nil {
		return Slack{}, err
	}
	signing, err := secretValue(ctx, api, signingSecretID)
	if err != nil {
		return Slack{}, err
	}
	return Slack{BotToken: token, SigningSecret: signing}, nil
}

func secretValue(ctx context.Context, api SecretValueAPI, id string) (Secret, error) {
	if id == "" {
		return Secret{}, errors.New("secrets: Secrets Manager secret id is empty")
	}
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return Secret{}, fmt.Errorf("secrets: reading secret %s: %w", id, err)
	}
	if aws.ToString(out.SecretString) == "" {
		return Secret{}, fmt.Errorf("secrets: secret %s has no SecretString (binary secrets are not supported)", id)
	}
	return New(aws.ToString(out.SecretString)), nil
}

// Environment variables of the Lambda functions naming where the secrets
// are kept: Secrets Manager ARNs (what the stack sets), else SSM parameter
// names.
const (
	EnvBotTokenSecret      = "MEDIC_SLACK_BOT_TOKEN_SECRET"
	EnvSigningSecretSecret = "MEDIC_SLACK_SIGNING_SECRET_SECRET"
	EnvBotTokenParam       = "MEDIC_SLACK_BOT_TOKEN_PARAM"
	EnvSigningSecretParam  = "MEDIC_SLACK_SIGNING_SECRET_PARAM"
)

// Lookup chooses the source by the environment: the *_SECRET variables
// (Secrets Manager), else the *_PARAM ones (Parameter Store), else
// MEDIC_SLACK_BOT_TOKEN / MEDIC_SLACK_SIGNING_SECRET themselves. Both
// secrets must be found; the error says which variables to set. sm and ps
// are only called for their own source (either may be nil otherwise).
func Lookup(ctx context.Context, sm SecretValueAPI, ps ParameterAPI, getenv func(string) string) (Slack, error) {
	switch {
	case getenv(EnvBotTokenSecret) != "" || getenv(EnvSigningSecretSecret) != "":
		if sm == nil {
			return Slack{}, errors.New("secrets: no Secrets Manager client")
		}
		return FromSecretsManager(ctx, sm, getenv(EnvBotTokenSecret), getenv(EnvSigningSecretSecret))
	case getenv(EnvBotTokenParam) != "" || getenv(EnvSigningSecretParam) != "":
		if ps == nil {
			return Slack{}, errors.New("secrets: no SSM client")
		}
		return FromSSM(ctx, ps, getenv(EnvBotTokenParam), getenv(EnvSigningSecretParam))
	}
	s := FromEnv(getenv)
	if s.BotToken.Empty() || s.SigningSecret.Empty() {
		return s, fmt.Errorf("secrets: set %s and %s (Secrets Manager ARNs), or %s and %s (SSM parameter names), or %s and %s",
			EnvBotTokenSecret, EnvSigningSecretSecret, EnvBotTokenParam, EnvSigningSecretParam, EnvBotToken, EnvSigningSecret)
	}
	return s, nil
}
