package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/medic-sre/medic/internal/secret"
)

const (
	tokenValue   = "xoxb-1111-2222-secretbottoken"
	signingValue = "s1gn1ngs3cr3tvalue"
)

// fakeSSM speaks the SSM JSON 1.1 protocol for GetParameter.
func fakeSSM(t *testing.T, params map[string]string) (*ssm.Client, *[]string) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "AmazonSSM.GetParameter" {
			t.Errorf("X-Amz-Target = %q", got)
		}
		var in struct {
			Name           string
			WithDecryption bool
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil {
			t.Errorf("request body %s: %v", body, err)
		}
		if !in.WithDecryption {
			t.Errorf("GetParameter %s without WithDecryption", in.Name)
		}
		asked = append(asked, in.Name)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		v, ok := params[in.Name]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"ParameterNotFound","message":"Parameter %s not found."}`, in.Name)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
			"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1}})
	}))
	t.Cleanup(srv.Close)
	client := ssm.New(ssm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	return client, &asked
}

func TestFromSSMReadsBothParameters(t *testing.T) {
	client, asked := fakeSSM(t, map[string]string{"/medic/slack/bot-token": tokenValue, "/medic/slack/signing-secret": signingValue})
	s, err := FromSSM(context.Background(), client, "/medic/slack/bot-token", "/medic/slack/signing-secret")
	if err != nil {
		t.Fatal(err)
	}
	if s.BotToken.Reveal() != tokenValue || s.SigningSecret.Reveal() != signingValue {
		t.Fatalf("got %q / %q", s.BotToken.Reveal(), s.SigningSecret.Reveal())
	}
	if strings.Join(*asked, ",") != "/medic/slack/bot-token,/medic/slack/signing-secret" {
		t.Fatalf("asked %v", *asked)
	}
}

func TestFromSSMNamesTheMissingParameter(t *testing.T) {
	client, _ := fakeSSM(t, map[string]string{"/medic/slack/bot-token": tokenValue})
	_, err := FromSSM(context.Background(), client, "/medic/slack/bot-token", "/medic/slack/nope")
	if err == nil || !strings.Contains(err.Error(), "/medic/slack/nope") || !strings.Contains(err.Error(), "ParameterNotFound") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), tokenValue) {
		t.Fatal("error leaks the token")
	}
	if _, err := FromSSM(context.Background(), client, "", "x"); err == nil {
		t.Fatal("empty parameter name accepted")
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{EnvBotToken: tokenValue, EnvSigningSecret: signingValue}
	s := FromEnv(func(k string) string { return env[k] })
	if s.BotToken.Reveal() != tokenValue || s.SigningSecret.Reveal() != signingValue {
		t.Fatalf("got %+v", s)
	}
	if !FromEnv(func(string) string { return "" }).BotToken.Empty() {
		t.Fatal("empty env gave a token")
	}
}

// The values must not reach logs or printed errors, however they are passed.
func TestSecretsNeverLogged(t *testing.T) {
	s := Slack{BotToken: New(tokenValue), SigningSecret: New(signingValue)}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("loaded", "secrets", s, "token", s.BotToken, "signing", s.SigningSecret, "ptr", &s)
	}
	fmt.Fprintf(&buf, "%v %+v %#v %s %q\n", s, s, s, s.BotToken, s.SigningSecret)
	b, _ := json.Marshal(s)
	buf.Write(b)
	out := buf.String()
	if strings.Contains(out, tokenValue) || strings.Contains(out, signingValue) {
		t.Fatalf("secret in output:\n%s", out)
	}
	if !strings.Contains(out, mask) {
		t.Fatalf("mask missing:\n%s", out)
	}
}

// fakeSecretsManager speaks the Secrets Manager JSON 1.1 protocol for
// GetSecretValue.
func fakeSecretsManager(t *testing.T, values map[string]string) (*secretsmanager.Client, *[]string) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target = %q", got)
		}
		var in struct{ SecretId string }
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil {
			t.Errorf("request body %s: %v", body, err)
		}
		asked = append(asked, in.SecretId)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		v, ok := values[in.SecretId]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": "n", "SecretString": v, "VersionId": "v1"})
	}))
	t.Cleanup(srv.Close)
	client := secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	return client, &asked
}

const (
	tokenARN   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:Medic/slack/bot-token-AbCdEf"
	signingARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:Medic/slack/signing-secret-GhIjKl"
)

func TestFromSecretsManager(t *testing.T) {
	client, asked := fakeSecretsManager(t, map[string]string{tokenARN: tokenValue, signingARN: signingValue})
	s, err := FromSecretsManager(context.Background(), client, tokenARN, signingARN)
	if err != nil {
		t.Fatal(err)
	}
	if s.BotToken.Reveal() != tokenValue || s.SigningSecret.Reveal() != signingValue {
		t.Fatalf("got %q / %q", s.BotToken.Reveal(), s.SigningSecret.Reveal())
	}
	if strings.Join(*asked, ",") != tokenARN+","+signingARN {
		t.Fatalf("asked %v", *asked)
	}
	_, err = FromSecretsManager(context.Background(), client, tokenARN, "arn:missing")
	if err == nil || !strings.Contains(err.Error(), "arn:missing") || !strings.Contains(err.Error(), "ResourceNotFound") || strings.Contains(err.Error(), tokenValue) {
		t.Fatalf("missing secret: %v", err)
	}
	empty, _ := fakeSecretsManager(t, map[string]string{tokenARN: "", signingARN: signingValue})
	if _, err := FromSecretsManager(context.Background(), empty, tokenARN, signingARN); err == nil || !strings.Contains(err.Error(), "no SecretString") {
		t.Fatalf("empty secret: %v", err)
	}
}

// Lookup prefers Secrets Manager, then Parameter Store, then the
// environment, and never logs what it read.
func TestLookupOrder(t *testing.T) {
	sm, smAsked := fakeSecretsManager(t, map[string]string{tokenARN: tokenValue, signingARN: signingValue})
	ps, psAsked := fakeSSM(t, map[string]string{"/t": "xoxb-from-ssm", "/s": "sig-from-ssm"})
	env := map[string]string{
		EnvBotTokenSecret: tokenARN, EnvSigningSecretSecret: signingARN,
		EnvBotTokenParam: "/t", EnvSigningSecretParam: "/s",
		EnvBotToken: "xoxb-from-env", EnvSigningSecret: "sig-from-env",
	}
	getenv := func(k string) string { return env[k] }
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	check := func(want string) {
		t.Helper()
		s, err := Lookup(context.Background(), sm, ps, getenv)
		if err != nil || s.BotToken.Reveal() != want {
			t.Fatalf("want %s, got %q, %v", want, s.BotToken.Reveal(), err)
		}
		log.Info("secrets loaded", "secrets", s, "token", s.BotToken)
	}
	check(tokenValue)
	delete(env, EnvBotTokenSecret)
	delete(env, EnvSigningSecretSecret)
	check("xoxb-from-ssm")
	delete(env, EnvBotTokenParam)
	delete(env, EnvSigningSecretParam)
	check("xoxb-from-env")
	if len(*smAsked) != 2 || len(*psAsked) != 2 {
		t.Fatalf("calls: secrets manager %v, ssm %v", *smAsked, *psAsked)
	}
	for _, v := range []string{tokenValue, signingValue, "xoxb-from-ssm", "sig-from-ssm", "xoxb-from-env", "sig-from-env"} {
		if strings.Contains(buf.String(), v) {
			t.Fatalf("log leaks %s: %s", v, buf.String())
		}
	}
	delete(env, EnvBotToken)
	if _, err := Lookup(context.Background(), sm, ps, getenv); err == nil || !strings.Contains(err.Error(), EnvBotTokenSecret) {
		t.Fatalf("nothing set: %v", err)
	}
	// Only one of a pair set still picks that source, and names the gap.
	env[EnvSigningSecretSecret] = signingARN
	if _, err := Lookup(context.Background(), sm, ps, getenv); err == nil || !strings.Contains(err.Error(), "secret id is empty") {
		t.Fatalf("half set: %v", err)
	}
}

// What the functions load from Secrets Manager or Parameter Store becomes a
// known secret: notify and the logs scrub it (internal/secret) although it
// never was in the environment.
func TestLoadedSecretsAreRegisteredForScrubbing(t *testing.T) {
	smToken, smSigning := "xoxb-from-secrets-manager-77", "signing-from-secrets-manager-77"
	client, _ := fakeSecretsManager(t, map[string]string{tokenARN: smToken, signingARN: smSigning})
	if _, err := FromSecretsManager(context.Background(), client, tokenARN, signingARN); err != nil {
		t.Fatal(err)
	}
	psToken := "xoxb-from-parameter-store-77"
	ps, _ := fakeSSM(t, map[string]string{"/t": psToken, "/s": "signing-from-parameter-store-77"})
	if _, err := FromSSM(context.Background(), ps, "/t", "/s"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{smToken, smSigning, psToken} {
		if got := secret.Scrub("posted: " + v); got != "posted: "+secret.Mask {
			t.Errorf("Scrub(%q) = %q: the loaded secret is not known", v, got)
		}
	}
}
