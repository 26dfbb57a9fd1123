resource "aws_ecs_cluster" "main" {
  name = var.name

  # Container Insights bills per metric; the bot reads task states itself.
  setting {
    name  = "containerInsights"
    value = "disabled"
  }
}

# Both Fargate capacity providers, so ECS_CAPACITY_PROVIDER may be FARGATE or
# FARGATE_SPOT; FARGATE is the default when the bot names none.
resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
    base              = 0
  }
}

resource "aws_cloudwatch_log_group" "game" {
  name              = "/ecs/${var.name}/${var.container_name}"
  retention_in_days = var.log_retention_days
}

# The game server template. The bot runs the latest ACTIVE revision of this
# family and overrides the environment per variant (ONLINE_MODE, ...).
resource "aws_ecs_task_definition" "game" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    # Fargate Spot runs X86_64 only.
    cpu_architecture = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name      = var.container_name
      image     = var.server_image
      essential = true

      portMappings = [
        {
          containerPort = var.game_port
          hostPort      = var.game_port
          protocol      = "tcp"
        },
      ]

      environment = [
        { name = "EULA", value = "TRUE" },
        { name = "TYPE", value = var.server_type },
        { name = "VERSION", value = var.minecraft_version },
        { name = "ONLINE_MODE", value = var.online_mode },
        { name = "MEMORY", value = local.jvm_memory },
        { name = "SERVER_PORT", value = tostring(var.game_port) },
      ]

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.game.name
          awslogs-region        = var.region
          awslogs-stream-prefix = var.container_name
        }
      }
    },
  ])
}
