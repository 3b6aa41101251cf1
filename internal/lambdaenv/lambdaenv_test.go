package lambdaenv

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/medic-sre/medic/internal/awsfake"
	"github.com/medic-sre/medic/internal/slack/secrets"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/dynalite"
)

var db *dynalite.Server

func TestMain(m *testing.M) { os.Exit(dynalite.Main(m, &db)) }

func dbConfig() aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(db.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

var secretsManager = awsfake.Protocol{Target: "secretsmanager", JSONVersion: "1.1"}

func TestSlackSecretsFromSecretsManagerNeverLogged(t *testing.T) {
	srv := awsfake.New(t, secretsManager).Handle("GetSecretValue", func(in map[string]any) (any, error) {
		v := map[string]string{"arn:token": "xoxb-from-sm", "arn:signing": "signing-from-sm"}[in["SecretId"].(string)]
		if v == "" {
			return nil, &awsfake.Error{Status: 400, Type: "ResourceNotFoundException", Message: "no such secret"}
		}
		return map[string]any{"SecretString": v}, nil
	})
	env := map[string]string{secrets.EnvBotTokenSecret: "arn:token", secrets.EnvSigningSecretSecret: "arn:signing"}
	s, err := SlackSecrets(context.Background(), srv.Config(), func(k string) string { return env[k] })
	if err != nil || s.BotToken.Reveal() != "xoxb-from-sm" || s.SigningSecret.Reveal() != "signing-from-sm" {
		t.Fatalf("secrets = %v, %v", s, err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("ready", "secrets", s)
	if strings.Contains(buf.String(), "from-sm") {
		t.Fatalf("log leaks: %s", buf.String())
	}
	env[secrets.EnvSigningSecretSecret] = "arn:gone"
	if _, err := SlackSecrets(context.Background(), srv.Config(), func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "arn:gone") {
		t.Fatalf("missing secret: %v", err)
	}
}

func TestTableOnDynamoDB(t *testing.T) {
	if _, err := Table(dbConfig(), func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), EnvTable) {
		t.Fatalf("unset: %v", err)
	}
	_, name := db.NewTable(t)
	st, err := Table(dbConfig(), func(k string) string { return map[string]string{EnvTable: name}[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := state.Key{PK: "test", SK: "a"}
	if _, err := st.Put(ctx, state.Item{Key: k, Value: []byte(`1`)}, state.IfAbsent()); err != nil {
		t.Fatal(err)
	}
	if it, ok, err := st.Get(ctx, k); err != nil || !ok || string(it.Value) != "1" {
		t.Fatalf("get = %+v %v %v", it, ok, err)
	}
}
