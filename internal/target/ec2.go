package target

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// DescribeInstancesAPI is the one EC2 call the resolver makes
// (*ec2.Client has it). IAM: ec2:DescribeInstances.
type DescribeInstancesAPI interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// EC2 resolves addresses with DescribeInstances filters, in the account
// and region the client is configured for. Wrap it in a Cache: every
// alert of a storm names an instance.
type EC2 struct {
	API DescribeInstancesAPI
}

// liveStates are the instance states a target can be in; a terminated
// instance's IP may already belong to another.
var liveStates = []string{"pending", "running", "stopping", "stopped"}

// maxPages bounds the pages read for one filter: more than one instance is
// already ambiguous, so the first pages decide.
const maxPages = 3

// Resolve tries the address's filters in order (a private address before
// a public one) and takes the first that matches exactly one instance.
func (r *EC2) Resolve(ctx context.Context, a Address) (Target, error) {
	if a.Kind == KindLocal {
		return Target{}, fmt.Errorf("%w: %s names the host that scraped it (Prometheus's own machine), not an EC2 instance", ErrNotFound, a.Host)
	}
	for _, f := range ec2Filters(a) {
		found, err := r.describe(ctx, f)
		if err != nil {
			return Target{}, fmt.Errorf("ec2:DescribeInstances %s=%s: %w", f.name, f.value, err)
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return ec2Target(found[0], a), nil
		}
		ids := make([]string, len(found))
		for i, in := range found {
			ids[i] = aws.ToString(in.InstanceId)
		}
		return Target{}, ambiguous(a, ids)
	}
	return Target{}, notFound(a, "EC2 (DescribeInstances)")
}

type ec2Filter struct{ name, value string }

// ec2Filters are DescribeInstances filters for the address, in order.
func ec2Filters(a Address) []ec2Filter {
	switch a.Kind {
	case KindInstanceID:
		return []ec2Filter{{"instance-id", a.Host}}
	case KindIPv4:
		return []ec2Filter{{"private-ip-address", a.Host}, {"ip-address", a.Host}}
	case KindIPv6:
		return []ec2Filter{{"network-interface.ipv6-addresses.ipv6-address", a.Host}}
	case KindDNS:
		return []ec2Filter{{"private-dns-name", a.Host}, {"dns-name", a.Host}}
	case KindHostname:
		if ip, ok := ec2HostnameIP(a.Host); ok {
			return []ec2Filter{{"private-ip-address", ip}}
		}
		return []ec2Filter{{"tag:Name", a.Host}}
	}
	return nil
}

func (r *EC2) describe(ctx context.Context, f ec2Filter) ([]types.Instance, error) {
	in := &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String(f.name), Values: []string{f.value}},
		{Name: aws.String("instance-state-name"), Values: liveStates},
	}}
	var out []types.Instance
	for page := 0; page < maxPages; page++ {
		resp, err := r.API.DescribeInstances(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, res := range resp.Reservations {
			out = append(out, res.Instances...)
		}
		if len(out) > 1 || aws.ToString(resp.NextToken) == "" {
			break
		}
		in.NextToken = resp.NextToken
	}
	return out, nil
}

func ec2Target(in types.Instance, a Address) Target {
	t := Target{InstanceID: aws.ToString(in.InstanceId), Source: "ec2", Address: a.Host}
	for _, tag := range in.Tags {
		switch aws.ToString(tag.Key) {
		case "Name":
			t.Name = aws.ToString(tag.Value)
		case DependsOnTag:
			t.DependsOn = parseDependsOn(aws.ToString(tag.Value))
		}
	}
	return t
}
