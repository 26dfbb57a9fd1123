# A line of an optional resource is there only when it is made, so that
# appending env_file never blanks a value the admin set in .env before.
output "env_file" {
  description = "The AWS half of the bot's .env: `terraform output -raw env_file >> .env`."
  value = join("", [
    <<-EOT
    AWS_REGION=${var.region}
    AWS_ECS_CLUSTER_NAME=${aws_ecs_cluster.main.name}
    ECS_TASK_DEFINITION=${aws_ecs_task_definition.game.family}
    DOCKER_IMAGE_NAME=${var.container_name}
    ECS_SUBNETS=${join(",", aws_subnet.public[*].id)}
    ECS_SECURITY_GROUPS=${aws_security_group.game.id}
    ECS_ASSIGN_PUBLIC_IP=true
    AWS_DYNAMODB_TABLE_NAME=${aws_dynamodb_table.servers.name}
    GAMESERVER_PORT=${var.game_port}
    GAMESERVER_VERSION=${var.minecraft_version}
    AWS_SQS_EVENTS_QUEUE_URL=${var.events ? aws_sqs_queue.events[0].url : ""}
    EOT
    ,
    var.worlds ? "WORLD_S3_BUCKET=${aws_s3_bucket.worlds[0].bucket}\n" : "",
    var.alerts_topic ? "ALERT_SNS_TOPIC_ARN=${aws_sns_topic.alerts[0].arn}\n" : "",
  ])
}

output "aws_access_key_id" {
  description = "Access key id of the bot's IAM user (secrets/aws_access_key_id)."
  value       = aws_iam_access_key.bot.id
  sensitive   = true
}

output "aws_secret_access_key" {
  description = "Secret access key of the bot's IAM user (secrets/aws_secret_access_key)."
  value       = aws_iam_access_key.bot.secret
  sensitive   = true
}

output "bot_policy_arn" {
  description = "The bot's permissions, to attach to an instance role instead of using the access key."
  value       = aws_iam_policy.bot.arn
}

output "log_group" {
  description = "CloudWatch Logs group of the game servers: `aws logs tail <group> --follow`."
  value       = aws_cloudwatch_log_group.game.name
}

output "game_task_definitions" {
  description = "Task definition family and container of each game in var.games, for the taskDefinition and container keys of its template (deploy/games/)."
  value = {
    for name, td in aws_ecs_task_definition.games : name => {
      taskDefinition = td.family
      container      = "game"
    }
  }
}

output "worlds_bucket" {
  description = "S3 bucket of the worlds' backups (WORLD_S3_BUCKET), when worlds = true."
  value       = one(aws_s3_bucket.worlds[*].bucket)
}

output "alerts_topic_arn" {
  description = "SNS topic of the bot's alerts (ALERT_SNS_TOPIC_ARN), when alerts_topic = true: subscribe to it."
  value       = one(aws_sns_topic.alerts[*].arn)
}
