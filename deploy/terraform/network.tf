# A VPC with two public subnets and no NAT gateway: the game servers get a
# public IPv4 address each (ECS_ASSIGN_PUBLIC_IP=true), which both lets players
# in and lets the task pull its image, so a NAT gateway would only add cost.
# That address is asked for by the bot's RunTask (assignPublicIp), task by
# task: the subnets themselves give none by default, so nothing else launched
# in them gets a public address without asking for one.

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = var.name
  }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id

  tags = {
    Name = var.name
  }
}

resource "aws_subnet" "public" {
  count = 2

  vpc_id                  = aws_vpc.main.id
  availability_zone       = data.aws_availability_zones.available.names[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, count.index)
  map_public_ip_on_launch = false

  tags = {
    Name = "${var.name}-public-${data.aws_availability_zones.available.names[count.index]}"
  }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }

  tags = {
    Name = "${var.name}-public"
  }
}

resource "aws_route_table_association" "public" {
  count = length(aws_subnet.public)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# Only the game port comes in; everything may go out (image pulls, Mojang
# authentication, CloudWatch Logs).
resource "aws_security_group" "game" {
  name        = "${var.name}-game"
  description = "Game servers started by ${var.name}: game port in, everything out"
  vpc_id      = aws_vpc.main.id

  tags = {
    Name = "${var.name}-game"
  }
}

resource "aws_vpc_security_group_ingress_rule" "game" {
  for_each = toset(var.game_port_allowed_cidrs)

  security_group_id = aws_security_group.game.id
  description       = "Game port"
  ip_protocol       = "tcp"
  from_port         = var.game_port
  to_port           = var.game_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.game.id
  description       = "Everything out"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# Flow logs: a record of the connections the VPC saw, accepted or refused
# (who played on a server, who knocked on a closed port), in CloudWatch Logs
# for log_retention_days. Records are summed per connection over ten minutes,
# so a few servers cost a few cents a month; flow_logs = false turns them off.
resource "aws_cloudwatch_log_group" "flow_logs" {
  count = var.flow_logs ? 1 : 0

  name              = "/vpc/${var.name}/flow-logs"
  retention_in_days = var.log_retention_days
}

resource "aws_flow_log" "main" {
  count = var.flow_logs ? 1 : 0

  vpc_id                   = aws_vpc.main.id
  traffic_type             = "ALL"
  max_aggregation_interval = 600
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn             = aws_iam_role.flow_logs[0].arn

  tags = {
    Name = var.name
  }
}

# The flow logs service writes into that log group, and nothing else.
data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ec2:${var.region}:${local.account_id}:vpc-flow-log/*"]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  count = var.flow_logs ? 1 : 0

  name               = "${var.name}-flow-logs"
  description        = "VPC flow logs of ${var.name} write to their log group"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

data "aws_iam_policy_document" "flow_logs" {
  count = var.flow_logs ? 1 : 0

  statement {
    sid = "WriteFlowLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = ["${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  count = var.flow_logs ? 1 : 0

  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs[0].json
}
