package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/metrics"
	"github.com/mineral-contest/spawner/internal/sqs"
)

// newEvents is the consumer of AWS_SQS_EVENTS_QUEUE_URL, through the real
// SQS client with AWS_ENDPOINT_URL_SQS (else AWS_ENDPOINT_URL) honoured;
// nil when no queue is set. Nothing is dialled.
func newEvents(awsCfg aws.Config, cfg *config.Config, log *slog.Logger, met *metrics.Metrics) *sqs.Consumer {
	if cfg.SQSQueueURL == "" {
		return nil
	}
	client := awssqs.NewFromConfig(awsCfg, func(o *awssqs.Options) { o.BaseEndpoint = awsEndpoint(cfg, cfg.SQSEndpoint) })
	c := sqs.New(client, cfg.SQSQueueURL, log.With("queue", cfg.SQSQueueURL))
	if met != nil {
		c.Count = func(o sqs.Outcome) { met.Event(string(o)) }
	}
	return c
}

// eventsLoop runs the events consumer in a goroutine of Main's: started
// after Recover, so every change finds the mirror loaded, and stopped and
// waited for by Close before the Manager closes.
type eventsLoop struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start long-polls c until stop, handing each change of one of the bot's
// tasks to mgr. It first learns the cluster's full ARN from ECS (retried
// until it answers), since an event is the bot's only when its cluster is
// that ARN exactly. A change of a task mgr does not know is dropped there:
// the sweep, which reads tags, decides about it.
func (l *eventsLoop) start(ctx context.Context, c *sqs.Consumer, tasks *ecs.Tasks, mgr *lifecycle.Manager, log *slog.Logger) {
	ctx, l.cancel = context.WithCancel(ctx)
	l.wg.Go(func() {
		var cluster string
		err := retry(ctx, log, "read the ECS cluster's ARN, to tell its task events", func(ctx context.Context) (err error) {
			cluster, err = tasks.ClusterARN(ctx)
			return err
		})
		if err != nil || ctx.Err() != nil {
			return
		}
		log.Info("reading task events from the queue", "cluster", cluster)
		_ = c.Run(ctx, cluster, func(ch sqs.TaskChange) {
			log.Debug("task event", "task", ch.TaskARN, "status", ch.LastStatus, "desired", ch.DesiredStatus, "stopCode", ch.StopCode, "version", ch.Version)
			mgr.TaskChanged(ch.Hint())
		})
	})
}

// stop ends the consumer and waits for it; safe when it was never started.
func (l *eventsLoop) stop() {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
}
