# More games (templates uploaded with /game add, see deploy/games/): one task
# definition per entry of var.games, family "<name>-<game>", container "game",
# and the game's ports open in the security group. The template's
# taskDefinition and container keys name them (output game_task_definitions).
#
# A game with a world (its entry's world, its template's world key) gets a
# second container, "world": the bot's own image running `spawner world
# sidecar`, on a volume "world" of the task mounted at /world in it and at the
# world's path in the game. At the start it fills the volume from the world's
# newest backup (WORLD_ID, which the bot sets per task in containerOverrides)
# and then reports healthy (`spawner world ready`); the game depends on that,
# so it starts on its world or not at all. At the stop, ECS stops the
# containers in the reverse order: the game first (SIGTERM, then its
# world.stop_timeout to save and quit), then the companion, which backs the
# world up (SIGTERM, then 120 s, Fargate's longest stop timeout, to push it).

locals {
  # One security group rule per game port and protocol, RCON excepted.
  game_ports = merge([
    for game, g in var.games : {
      for p in g.ports : "${game}-${p.protocol}-${p.port}" => p
    }
  ]...)
  rcon_ports = toset([for g in var.games : tostring(g.rcon_port) if g.rcon_port != null])

  # The companion container of each game with a world.
  world_containers = {
    for game, g in var.games : game => {
      name      = "world"
      image     = var.spawner_image
      command   = ["world", "sidecar"]
      essential = true
      # Root, to write the volume ECS creates owned by root, and to read
      # whatever user the game wrote its files as.
      user = "0"

      environment = [
        { name = "AWS_REGION", value = var.region },
        { name = "WORLD_S3_BUCKET", value = local.world_bucket },
        { name = "WORLD_PATH", value = local.world_mount },
      ]

      mountPoints = [{ sourceVolume = "world", containerPath = local.world_mount, readOnly = false }]

      # Healthy once the world is pulled: the game starts then. The pull has
      # startTimeout (Fargate's longest) to get there, or the game is not
      # started and the task stops; the health check's startPeriod covers
      # the same time, so a long pull is not marked unhealthy meanwhile.
      healthCheck = {
        command     = ["CMD", "/spawner", "world", "ready"]
        interval    = 5
        timeout     = 5
        retries     = 10
        startPeriod = 120
      }
      startTimeout = 120
      # The push after the game exited: Fargate kills the container 120 s
      # after SIGTERM at most, so a world that takes longer to upload is cut.
      stopTimeout = 120

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.games[game].name
          awslogs-region        = var.region
          awslogs-stream-prefix = "world"
        }
      }
    } if g.world != null
  }
  world_mount = "/world"
}

resource "aws_cloudwatch_log_group" "games" {
  for_each = var.games

  name              = "/ecs/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_task_definition" "games" {
  for_each = var.games

  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = each.value.world == null ? aws_iam_role.task.arn : one(aws_iam_role.world_task[*].arn)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # The world's volume: on the task's ephemeral storage (20 GiB with the
  # images), shared by the game and its companion, gone with the task.
  dynamic "volume" {
    for_each = each.value.world == null ? [] : [each.value.world]

    content {
      name = "world"
    }
  }

  container_definitions = jsonencode(concat([
    {
      name      = "game"
      image     = each.value.image
      essential = true

      portMappings = concat(
        [for p in each.value.ports : { containerPort = p.port, hostPort = p.port, protocol = p.protocol }],
        each.value.rcon_port == null ? [] : [{ containerPort = each.value.rcon_port, hostPort = each.value.rcon_port, protocol = "tcp" }],
      )

      environment = [for k, v in each.value.environment : { name = k, value = v }]

      # With a world: on the world's volume, started once it is pulled,
      # given its stop timeout to save and quit.
      mountPoints = each.value.world == null ? null : [{ sourceVolume = "world", containerPath = each.value.world.path, readOnly = false }]
      dependsOn   = each.value.world == null ? null : [{ containerName = "world", condition = "HEALTHY" }]
      stopTimeout = each.value.world == null ? null : each.value.world.stop_timeout

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.games[each.key].name
          awslogs-region        = var.region
          awslogs-stream-prefix = each.key
        }
      }
    },
  ], [for game, c in local.world_containers : c if game == each.key]))

  lifecycle {
    precondition {
      condition     = each.value.world == null || var.worlds
      error_message = "Game ${each.key} has a world: set worlds = true, which creates the bucket its backups go to."
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "games" {
  for_each = {
    for pair in setproduct(keys(local.game_ports), var.game_port_allowed_cidrs) :
    "${pair[0]}-${pair[1]}" => { port = local.game_ports[pair[0]], cidr = pair[1] }
  }

  security_group_id = aws_security_group.game.id
  description       = "Game port ${each.value.port.port}/${each.value.port.protocol}"
  ip_protocol       = each.value.port.protocol
  from_port         = each.value.port.port
  to_port           = each.value.port.port
  cidr_ipv4         = each.value.cidr
}

# RCON carries the op command with a per-server password: only the bot's
# address may reach it.
resource "aws_vpc_security_group_ingress_rule" "rcon" {
  for_each = {
    for pair in setproduct(local.rcon_ports, var.bot_cidrs) : "${pair[0]}-${pair[1]}" => { port = tonumber(pair[0]), cidr = pair[1] }
  }

  security_group_id = aws_security_group.game.id
  description       = "RCON from the bot only"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}
