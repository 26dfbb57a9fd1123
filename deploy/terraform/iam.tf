# The identities:
#
# - the execution role, used by ECS itself to pull the image and ship logs;
# - the task role, given to the game server's container, allowed nothing;
# - the world task role (worlds.tf, var.worlds), given to the tasks of games
#   with a world, allowed to pull and push backups under worlds/ only;
# - the bot: an IAM user with an access key. The bot usually runs on a VPS
#   outside AWS, where no role can be assumed without a first credential, so a
#   long-lived key scoped by the policy below is the simplest sound choice. Its
#   permissions live in a managed policy, so a bot running on EC2 can attach
#   the same policy to its instance role instead (output bot_policy_arn) and
#   skip the key.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-task-execution"
  description        = "ECS pulls the game server image and writes its logs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  description        = "The game server container: no AWS permission at all"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

locals {
  ecs_arn_prefix      = "arn:${local.partition}:ecs:${var.region}:${local.account_id}"
  task_definition_arn = "${local.ecs_arn_prefix}:task-definition/${aws_ecs_task_definition.game.family}:*"
  game_task_definition_arns = [
    for td in aws_ecs_task_definition.games : "${local.ecs_arn_prefix}:task-definition/${td.family}:*"
  ]
  cluster_task_arn = "${local.ecs_arn_prefix}:task/${aws_ecs_cluster.main.name}/*"

  # The roles the bot hands to the tasks it runs, and no other.
  passable_roles = concat(
    [aws_iam_role.execution.arn, aws_iam_role.task.arn],
    aws_iam_role.world_task[*].arn,
  )
}

# What the bot calls, and only on what it owns.
data "aws_iam_policy_document" "bot" {
  statement {
    sid       = "RunGameServers"
    actions   = ["ecs:RunTask"]
    resources = concat([local.task_definition_arn], local.game_task_definition_arns)

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }

  # RunTask with tags (spawner:owner, ...) needs TagResource, but only as part
  # of the creation: the bot cannot retag anything afterwards.
  statement {
    sid       = "TagGameServersOnCreation"
    actions   = ["ecs:TagResource"]
    resources = [local.cluster_task_arn]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid = "FollowAndStopGameServers"
    actions = [
      "ecs:DescribeTasks",
      "ecs:StopTask",
      "ecs:ListTagsForResource",
    ]
    resources = [local.cluster_task_arn]
  }

  statement {
    sid       = "ListGameServers"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }

  statement {
    sid       = "CheckCluster"
    actions   = ["ecs:DescribeClusters"]
    resources = [aws_ecs_cluster.main.arn]
  }

  # DescribeTaskDefinition supports no resource-level permission.
  statement {
    sid       = "ReadTaskDefinition"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "PassGameServerRoles"
    actions   = ["iam:PassRole"]
    resources = local.passable_roles

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # A ceiling, whatever else is granted to the identity this policy is
  # attached to: passing a role hands over its permissions, so no role but
  # the game servers' can ever be passed. On an instance role, that role can
  # then pass no other role either: give the bot an instance role of its own.
  statement {
    sid           = "PassNoOtherRole"
    effect        = "Deny"
    actions       = ["iam:PassRole"]
    not_resources = local.passable_roles
  }

  # The public IP of a task is read from its network interface;
  # DescribeNetworkInterfaces supports no resource-level permission.
  statement {
    sid       = "ReadGameServerAddresses"
    actions   = ["ec2:DescribeNetworkInterfaces"]
    resources = ["*"]
  }

  # Task state events from the queue events.tf creates: read and delete,
  # nothing else. DeleteMessageBatch is authorised by sqs:DeleteMessage.
  dynamic "statement" {
    for_each = var.events ? [1] : []

    content {
      sid = "ReadTaskEvents"
      actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
      ]
      resources = [aws_sqs_queue.events[0].arn]
    }
  }

  # The worlds' backups (worlds.tf): list one world's, read them (and
  # presign downloads), write new ones, prune and delete them, abort an
  # upload cut short; under worlds/ only. ListMultipartUploads (the sweep of
  # uploads a crash left) has no prefix condition key; it lists the names
  # of uploads under way, nothing else.
  dynamic "statement" {
    for_each = var.worlds ? [1] : []

    content {
      sid       = "ListWorlds"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.worlds[0].arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${local.worlds_prefix}*"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.worlds ? [1] : []

    content {
      sid       = "SweepWorldUploads"
      actions   = ["s3:ListBucketMultipartUploads"]
      resources = [aws_s3_bucket.worlds[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.worlds ? [1] : []

    content {
      sid = "KeepWorldBackups"
      actions = [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
      ]
      resources = [local.world_objects]
    }
  }

  # Alerts (alerts.tf): publish, and read the topic for `spawner check`.
  dynamic "statement" {
    for_each = var.alerts_topic ? [1] : []

    content {
      sid = "PublishAlerts"
      actions = [
        "sns:Publish",
        "sns:GetTopicAttributes",
      ]
      resources = [aws_sns_topic.alerts[0].arn]
    }
  }

  # No CreateTable: Terraform owns the table (DYNAMODB_CREATE_TABLE stays false).
  statement {
    sid = "KeepServerRecords"
    actions = [
      "dynamodb:DescribeTable",
      "dynamodb:Scan",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:DeleteItem",
    ]
    resources = [aws_dynamodb_table.servers.arn]
  }
}

resource "aws_iam_policy" "bot" {
  name        = "${var.name}-bot"
  description = "What the ${var.name} Discord bot may do: run, follow and stop its game servers, keep their records"
  policy      = data.aws_iam_policy_document.bot.json
}

resource "aws_iam_user" "bot" {
  name = "${var.name}-bot"
}

resource "aws_iam_user_policy_attachment" "bot" {
  user       = aws_iam_user.bot.name
  policy_arn = aws_iam_policy.bot.arn
}

# The secret is kept in the Terraform state: treat the state file as a secret.
resource "aws_iam_access_key" "bot" {
  user = aws_iam_user.bot.name
}
