# A VPC with two public subnets and no NAT gateway: the game servers get a
# public IPv4 address each (ECS_ASSIGN_PUBLIC_IP=true), which both lets players
# in and lets the task pull its image, so a NAT gateway would only add cost.

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
  map_public_ip_on_launch = true

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
