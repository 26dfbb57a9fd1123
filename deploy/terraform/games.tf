# More games (templates uploaded with /game add, see deploy/games/): one task
# definition per entry of var.games, family "<name>-<game>", container "game",
# and the game's ports open in the security group. The template's
# taskDefinition and container keys name them (output game_task_definitions).

locals {
  # One security group rule per game port and protocol, RCON excepted.
  game_ports = merge([
    for game, g in var.games : {
      for p in g.ports : "${game}-${p.protocol}-${p.port}" => p
    }
  ]...)
  rcon_ports = toset([for g in var.games : tostring(g.rcon_port) if g.rcon_port != null])
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
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name      = "game"
      image     = each.value.image
      essential = true

      portMappings = concat(
        [for p in each.value.ports : { containerPort = p.port, hostPort = p.port, protocol = p.protocol }],
        each.value.rcon_port == null ? [] : [{ containerPort = each.value.rcon_port, hostPort = each.value.rcon_port, protocol = "tcp" }],
      )

      environment = [for k, v in each.value.environment : { name = k, value = v }]

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.games[each.key].name
          awslogs-region        = var.region
          awslogs-stream-prefix = each.key
        }
      }
    },
  ])
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
