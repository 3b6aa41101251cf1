// Command http is the medic-http Lambda: it performs the HTTP request of st2
// http-request actions for the http-request state machine.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/medic-sre/medic/internal/action/httpfn"
)

func main() { lambda.Start((&httpfn.Handler{}).Invoke) }
