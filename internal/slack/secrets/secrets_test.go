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
	"github.com/aws/aws-sdk-go-v2/service/ssm"
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
