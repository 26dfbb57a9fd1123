package fakeaws_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

func clients(tb testing.TB, srv *fakeaws.Server) (*ecs.Client, *ec2.Client) {
	tb.Helper()
	cfg := srv.AWSConfig()
	return ecs.NewFromConfig(cfg), ec2.NewFromConfig(cfg)
}

func runInput(token string) *ecs.RunTaskInput {
	return &ecs.RunTaskInput{
		Cluster:                  aws.String(fakeaws.DefaultClusterName),
		TaskDefinition:           aws.String("mc"),
		CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-1"}, AssignPublicIp: ecstypes.AssignPublicIpEnabled,
		}},
		StartedBy:   aws.String("spawner"),
		ClientToken: aws.String(token),
		Tags:        []ecstypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	}
}

// waitStatus polls the fake until the task has status, or fails saying what it saw.
func waitStatus(tb testing.TB, srv *fakeaws.Server, arn, status string) fakeaws.Task {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		t, ok := srv.Task(arn)
		if ok && t.LastStatus == status {
			return t
		}
		if time.Now().After(deadline) {
			tb.Fatalf("task %s never reached %s; it is %+v", arn, status, t)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRequestsMustBeSigned(t *testing.T) {
	srv := fakeaws.New(t, fakeaws.Options{})
	for _, tc := range []struct {
		name, contentType, target, body, want string
	}{
		{"ECS", "application/x-amz-json-1.1", "AmazonEC2ContainerServiceV20141113.ListTasks", "{}", "MissingAuthenticationTokenException"},
		{"EC2", "application/x-www-form-urlencoded", "", "Action=DescribeNetworkInterfaces&Version=2016-11-15", "MissingAuthenticationToken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), tc.want) {
				t.Errorf("unsigned request: %d %s, want 403 %s", resp.StatusCode, body, tc.want)
			}
		})
	}

	t.Run("wrong region", func(t *testing.T) {
		cfg := srv.AWSConfig()
		cfg.Region = "us-east-1"
		_, err := ecs.NewFromConfig(cfg).ListTasks(wait.Context(t), &ecs.ListTasksInput{})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" {
			t.Errorf("request signed for another region: err = %v, want InvalidSignatureException", err)
		}
	})
}

func TestEnvPointsTheDefaultConfigAtTheFake(t *testing.T) {
	srv := fakeaws.New(t, fakeaws.Options{})
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	missing := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", missing)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)
	t.Setenv("AWS_PROFILE", "")
	cfg, err := config.LoadDefaultConfig(wait.Context(t))
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	out, err := ecs.NewFromConfig(cfg).DescribeClusters(wait.Context(t), &ecs.DescribeClustersInput{Clusters: []string{fakeaws.DefaultClusterName}})
	if err != nil || len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].ClusterArn) != srv.ClusterARN() {
		t.Fatalf("DescribeClusters through the environment = %+v, %v", out, err)
	}
	if _, err := ec2.NewFromConfig(cfg).DescribeNetworkInterfaces(wait.Context(t), &ec2.DescribeNetworkInterfacesInput{}); err != nil {
		t.Fatalf("DescribeNetworkInterfaces through the environment: %v", err)
	}
}

func TestTaskLifeAsTheSDKSeesIt(t *testing.T) {
	var mu sync.Mutex
	var ran []fakeaws.Task
	var seenBefore []string // the task's status as the fake shows it during OnRunning
	var srv *fakeaws.Server
	srv = fakeaws.New(t, fakeaws.Options{
		TaskDefinitionFamilies: map[string][]string{"mc": {"game"}},
		HoldIn:                 "PROVISIONING",
		OnRunning: func(task fakeaws.Task) {
			now, _ := srv.Task(task.ARN)
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, task)
			seenBefore = append(seenBefore, now.LastStatus)
		},
	})
	ecsc, ec2c := clients(t, srv)
	ctx := wait.Context(t)

	out, err := ecsc.RunTask(ctx, runInput("tok"))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	describe := func() ecstypes.Task {
		t.Helper()
		d, err := ecsc.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(srv.ClusterARN()), Tasks: []string{arn}})
		if err != nil || len(d.Tasks) != 1 {
			t.Fatalf("DescribeTasks = %+v, %v", d, err)
		}
		return d.Tasks[0]
	}
	details := func(task ecstypes.Task) map[string]string {
		m := map[string]string{}
		for _, a := range task.Attachments {
			for _, d := range a.Details {
				m[aws.ToString(d.Name)] = aws.ToString(d.Value)
			}
			m["status"] = aws.ToString(a.Status)
		}
		return m
	}

	task := describe()
	if aws.ToString(task.LastStatus) != "PROVISIONING" || details(task)["networkInterfaceId"] != "" || details(task)["status"] != "PRECREATED" {
		t.Errorf("held task: %s, attachment %v; want PROVISIONING with no interface yet", aws.ToString(task.LastStatus), details(task))
	}
	if len(task.Tags) != 0 {
		t.Errorf("tags %v without include TAGS", task.Tags)
	}

	if got := srv.Advance(arn); got != "PENDING" {
		t.Fatalf("Advance = %s, want PENDING", got)
	}
	task = describe()
	d := details(task)
	fake, _ := srv.Task(arn)
	if d["networkInterfaceId"] != fake.ENI || d["privateIPv4Address"] != fake.PrivateIP || d["status"] != "ATTACHED" {
		t.Errorf("pending task attachment %v, want ENI %s IP %s ATTACHED", d, fake.ENI, fake.PrivateIP)
	}

	srv.SetHoldIn("")
	waitStatus(t, srv, arn, "RUNNING")
	task = describe()
	if task.StartedAt == nil || task.Containers[0].NetworkInterfaces[0].PrivateIpv4Address == nil {
		t.Errorf("running task %+v lacks startedAt or container interface", task)
	}
	mu.Lock()
	if len(ran) != 1 || ran[0].ARN != arn || ran[0].LastStatus != "RUNNING" || ran[0].Input == nil {
		t.Errorf("OnRunning calls = %+v, want one for %s", ran, arn)
	}
	if len(seenBefore) != 1 || seenBefore[0] != "PENDING" {
		t.Errorf("during OnRunning the task was %v, want still PENDING to every client", seenBefore)
	}
	mu.Unlock()

	nis, err := ec2c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{fake.ENI}})
	if err != nil || len(nis.NetworkInterfaces) != 1 {
		t.Fatalf("DescribeNetworkInterfaces = %+v, %v", nis, err)
	}
	ni := nis.NetworkInterfaces[0]
	if aws.ToString(ni.Association.PublicIp) != fake.PublicIP || aws.ToString(ni.PrivateIpAddress) != fake.PrivateIP {
		t.Errorf("interface public %s private %s, want %s %s", aws.ToString(ni.Association.PublicIp), aws.ToString(ni.PrivateIpAddress), fake.PublicIP, fake.PrivateIP)
	}

	stop, err := ecsc.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(fakeaws.DefaultClusterName), Task: aws.String(fake.ID), Reason: aws.String("bye")})
	if err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if aws.ToString(stop.Task.DesiredStatus) != "STOPPED" || stop.Task.StopCode != ecstypes.TaskStopCodeUserInitiated {
		t.Errorf("StopTask answered %s/%s", aws.ToString(stop.Task.DesiredStatus), stop.Task.StopCode)
	}
	stopped := waitStatus(t, srv, arn, "STOPPED")
	if stopped.StoppedReason != "bye" || stopped.ExitCode == nil || *stopped.ExitCode != 0 {
		t.Errorf("stopped task reason %q exit %v", stopped.StoppedReason, stopped.ExitCode)
	}
	_, err = ec2c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{fake.ENI}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidNetworkInterfaceID.NotFound" {
		t.Errorf("interface of a stopped task: err = %v, want InvalidNetworkInterfaceID.NotFound", err)
	}
}

func TestTasksThatNeverRun(t *testing.T) {
	hooks := make(chan string, 4)
	srv := fakeaws.New(t, fakeaws.Options{
		TaskDefinitionFamilies: map[string][]string{"mc": {"game"}},
		ProvisioningDelay:      -1,
		PendingDelay:           -1,
		StoppingDelay:          -1,
		OnRunning:              func(task fakeaws.Task) { hooks <- task.ARN },
	})
	ecsc, _ := clients(t, srv)
	ctx := wait.Context(t)

	srv.FailToStart(1, "CannotPullContainerError: pull access denied")
	out, err := ecsc.RunTask(ctx, runInput("a"))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	failed := waitStatus(t, srv, aws.ToString(out.Tasks[0].TaskArn), "STOPPED")
	if failed.StopCode != "TaskFailedToStart" || !strings.HasPrefix(failed.StoppedReason, "CannotPullContainerError") || failed.ExitCode != nil {
		t.Errorf("task that failed to start: %+v", failed)
	}

	out, err = ecsc.RunTask(ctx, runInput("b"))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	if got := <-hooks; got != arn {
		t.Fatalf("OnRunning for %s, want %s (the failed one must not run)", got, arn)
	}
	srv.Crash(arn, "java.lang.OutOfMemoryError", 137)
	crashed := waitStatus(t, srv, arn, "STOPPED")
	if crashed.StopCode != "EssentialContainerExited" || crashed.ExitCode == nil || *crashed.ExitCode != 137 {
		t.Errorf("crashed task: %+v", crashed)
	}

	srv.RunFailures(1, "Capacity is unavailable at this time.")
	out, err = ecsc.RunTask(ctx, runInput("c"))
	if err != nil || len(out.Tasks) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "Capacity is unavailable at this time." {
		t.Errorf("RunTask with a run failure = %+v, %v", out, err)
	}
}

func TestHoldNextCatchesATaskInAStatus(t *testing.T) {
	srv := fakeaws.New(t, fakeaws.Options{
		TaskDefinitionFamilies: map[string][]string{"mc": {"game"}},
		ProvisioningDelay:      -1,
		PendingDelay:           -1,
		StoppingDelay:          -1,
	})
	ecsc, _ := clients(t, srv)
	ctx := wait.Context(t)
	srv.HoldNext(1, "PENDING")
	held, err := ecsc.RunTask(ctx, runInput("held"))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	free, err := ecsc.RunTask(ctx, runInput("free"))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	heldARN := aws.ToString(held.Tasks[0].TaskArn)
	waitStatus(t, srv, aws.ToString(free.Tasks[0].TaskArn), "RUNNING")
	waitStatus(t, srv, heldARN, "PENDING")
	srv.Release(heldARN)
	waitStatus(t, srv, heldARN, "RUNNING")

	srv.Hold(heldARN)
	if _, err := ecsc.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(fakeaws.DefaultClusterName), Task: aws.String(heldARN)}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if got, _ := srv.Task(heldARN); got.LastStatus != "STOPPING" || got.StoppedReason != "Task stopped by user" {
		t.Errorf("held task after StopTask: %s %q, want STOPPING", got.LastStatus, got.StoppedReason)
	}
	if got := srv.Advance(heldARN); got != "STOPPED" {
		t.Errorf("Advance = %s, want STOPPED", got)
	}
}

func TestECSErrorsDecodeAsModeled(t *testing.T) {
	srv := fakeaws.New(t, fakeaws.Options{TaskDefinitionFamilies: map[string][]string{"mc": {"game"}}})
	ecsc, _ := clients(t, srv)
	ctx := wait.Context(t)

	_, err := ecsc.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("other")})
	var cnf *ecstypes.ClusterNotFoundException
	if !errors.As(err, &cnf) {
		t.Errorf("unknown cluster: err = %v, want *ClusterNotFoundException", err)
	}

	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	_, err = ecsc.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(fakeaws.DefaultClusterName), Tasks: many})
	var ipe *ecstypes.InvalidParameterException
	if !errors.As(err, &ipe) {
		t.Errorf("101 tasks: err = %v, want *InvalidParameterException", err)
	}

	_, err = ecsc.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope")})
	var ce *ecstypes.ClientException
	if !errors.As(err, &ce) {
		t.Errorf("unknown family: err = %v, want *ClientException", err)
	}

	srv.FailNext("DescribeClusters", 5, fakeaws.ServerError)
	_, err = ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	var se *ecstypes.ServerException
	if !errors.As(err, &se) || len(srv.Calls("DescribeClusters")) != 3 {
		t.Errorf("server errors: err = %v after %d calls, want *ServerException after 3", err, len(srv.Calls("DescribeClusters")))
	}
}

func TestListTasksFiltersAndPages(t *testing.T) {
	srv := fakeaws.New(t, fakeaws.Options{TaskDefinitionFamilies: map[string][]string{"mc": {"game"}}})
	ecsc, _ := clients(t, srv)
	ctx := wait.Context(t)
	want := map[string]bool{}
	for i := range 23 {
		task := srv.StartExternalTask(fakeaws.ExternalTask{Family: "mc", StartedBy: "spawner"})
		want[task.ARN] = true
		if i%4 == 0 {
			srv.StartExternalTask(fakeaws.ExternalTask{Family: "mc", StartedBy: "other"})
		}
	}
	var got []string
	pages := ecs.NewListTasksPaginator(ecsc, &ecs.ListTasksInput{
		Cluster: aws.String(fakeaws.DefaultClusterName), StartedBy: aws.String("spawner"), MaxResults: aws.Int32(5),
	})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		n++
		got = append(got, page.TaskArns...)
	}
	if n != 5 || len(got) != 23 {
		t.Errorf("%d pages, %d tasks; want 5 pages of the 23 tasks", n, len(got))
	}
	for _, arn := range got {
		if !want[arn] {
			t.Errorf("listed %s, not started by spawner", arn)
		}
		delete(want, arn)
	}

	_, err := ecsc.ListTasks(ctx, &ecs.ListTasksInput{NextToken: aws.String("garbage"), Cluster: aws.String(fakeaws.DefaultClusterName)})
	var ipe *ecstypes.InvalidParameterException
	if !errors.As(err, &ipe) {
		t.Errorf("bad token: err = %v, want *InvalidParameterException", err)
	}

	stopped, err := ecsc.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(fakeaws.DefaultClusterName), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(stopped.TaskArns) != 0 {
		t.Errorf("stopped tasks = %v, %v; want none", stopped, err)
	}
	tags, err := ecsc.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(got[0])})
	if err != nil || len(tags.Tags) != 0 {
		t.Errorf("ListTagsForResource = %v, %v", tags, err)
	}
}

func TestAddressesAreUniqueLoopbacks(t *testing.T) {
	srv := fakeaws.New(t, fakeaws.Options{})
	seen := map[string]bool{}
	for range 300 {
		task := srv.StartExternalTask(fakeaws.ExternalTask{})
		for _, ip := range []string{task.PrivateIP, task.PublicIP, task.ENI} {
			if seen[ip] {
				t.Fatalf("address %s given twice", ip)
			}
			seen[ip] = true
		}
		if ip := net.ParseIP(task.PublicIP); ip == nil || !ip.IsLoopback() {
			t.Fatalf("public IP %q is not loopback", task.PublicIP)
		}
	}
	last := srv.Tasks()[299]
	l, err := net.Listen("tcp", net.JoinHostPort(last.PublicIP, "0"))
	if err != nil {
		t.Fatalf("listen on a task's public IP: %v", err)
	}
	l.Close()
}

func TestCloseStopsTheClock(t *testing.T) {
	called := make(chan struct{}, 1)
	srv := fakeaws.New(t, fakeaws.Options{
		ProvisioningDelay: time.Hour,
		OnRunning:         func(fakeaws.Task) { called <- struct{}{} },
	})
	task := srv.StartExternalTask(fakeaws.ExternalTask{LastStatus: "PROVISIONING"})
	srv.Close()
	srv.Close()
	if got, _ := srv.Task(task.ARN); got.LastStatus != "PROVISIONING" {
		t.Errorf("task moved to %s after Close", got.LastStatus)
	}
	select {
	case <-called:
		t.Errorf("OnRunning called after Close")
	default:
	}
}

// BenchmarkThousandTasks runs 1,000 tasks through the fake, from RunTask to
// STOPPED, with the real SDK clients.
func BenchmarkThousandTasks(b *testing.B) {
	for b.Loop() {
		var running sync.WaitGroup
		running.Add(1000)
		srv := fakeaws.New(b, fakeaws.Options{
			TaskDefinitionFamilies: map[string][]string{"mc": {"game"}},
			ProvisioningDelay:      time.Millisecond,
			PendingDelay:           time.Millisecond,
			StoppingDelay:          time.Millisecond,
			OnRunning:              func(fakeaws.Task) { running.Done() },
		})
		ecsc, ec2c := clients(b, srv)
		ctx := wait.Context(b)
		arns := make([]string, 1000)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range arns {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				out, err := ecsc.RunTask(ctx, runInput(fmt.Sprint("tok-", i)))
				if err != nil {
					b.Error(err)
					return
				}
				arns[i] = aws.ToString(out.Tasks[0].TaskArn)
			}()
		}
		wg.Wait()
		running.Wait()
		for i := 0; i < len(arns); i += 100 {
			out, err := ecsc.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(fakeaws.DefaultClusterName), Tasks: arns[i : i+100]})
			if err != nil || len(out.Tasks) != 100 {
				b.Fatalf("DescribeTasks: %v", err)
			}
			var enis []string
			for _, task := range out.Tasks {
				for _, d := range task.Attachments[0].Details {
					if aws.ToString(d.Name) == "networkInterfaceId" {
						enis = append(enis, aws.ToString(d.Value))
					}
				}
			}
			if _, err := ec2c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: enis}); err != nil {
				b.Fatalf("DescribeNetworkInterfaces: %v", err)
			}
		}
		for _, arn := range arns {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if _, err := ecsc.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(fakeaws.DefaultClusterName), Task: aws.String(arn)}); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		srv.Close()
	}
}
