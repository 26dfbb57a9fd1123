# Real-time events (AWS_SQS_EVENTS_QUEUE_URL): EventBridge catches this
# cluster's "ECS Task State Change" events, free on the default bus, and an
# SQS queue carries them to the bot, which long-polls it (20 s waits), so it
# learns of a task's RUNNING or STOPPED within a second or two instead of at
# the next sweep. The sweep stays as the backstop for anything lost.

resource "aws_sqs_queue" "events_dead_letters" {
  count = var.events ? 1 : 0

  name = "${var.name}-task-events-dlq"
  # What could not be delivered is kept four days for a look, then dropped.
  message_retention_seconds = 345600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "events" {
  count = var.events ? 1 : 0

  name = "${var.name}-task-events"
  # An event older than an hour is of no use: the sweep has caught up by then.
  message_retention_seconds  = 3600
  receive_wait_time_seconds  = 20
  visibility_timeout_seconds = 30
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.events_dead_letters[0].arn
    maxReceiveCount     = 5
  })
}

resource "aws_cloudwatch_event_rule" "task_state" {
  count = var.events ? 1 : 0

  name        = "${var.name}-task-state"
  description = "ECS task state changes of the ${var.name} cluster, for the bot"

  event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Task State Change"]
    detail = {
      clusterArn = [aws_ecs_cluster.main.arn]
    }
  })
}

resource "aws_cloudwatch_event_target" "task_state" {
  count = var.events ? 1 : 0

  rule = aws_cloudwatch_event_rule.task_state[0].name
  arn  = aws_sqs_queue.events[0].arn
}

# Only EventBridge may send, and only for this rule.
data "aws_iam_policy_document" "events_queue" {
  count = var.events ? 1 : 0

  statement {
    sid       = "EventBridgeTaskStateRule"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.task_state[0].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  count = var.events ? 1 : 0

  queue_url = aws_sqs_queue.events[0].id
  policy    = data.aws_iam_policy_document.events_queue[0].json
}
