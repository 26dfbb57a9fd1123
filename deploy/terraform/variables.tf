variable "region" {
  description = "AWS region for everything: the cluster, the game servers, the table."
  type        = string
  default     = "eu-west-3"
}

variable "name" {
  description = "Prefix of every resource name (cluster, task family, table, roles, user)."
  type        = string
  default     = "spawner"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,31}$", var.name))
    error_message = "The name must start with a letter and hold at most 32 letters, digits or dashes."
  }
}

variable "table_name" {
  description = "DynamoDB table name; empty means \"<name>-servers\". Set it to the old bot's table name, then `terraform import aws_dynamodb_table.servers <table>`, to adopt that table."
  type        = string
  default     = ""
}

variable "server_image" {
  description = "Container image of the game server."
  type        = string
  default     = "itzg/minecraft-server"
}

variable "container_name" {
  description = "Name of the game container in the task definition (DOCKER_IMAGE_NAME in .env)."
  type        = string
  default     = "minecraft"
}

variable "minecraft_version" {
  description = "Minecraft version the server runs (VERSION of itzg/minecraft-server) and the bot shows (GAMESERVER_VERSION)."
  type        = string
  default     = "1.21.4"
}

variable "server_type" {
  description = "Server software (TYPE of itzg/minecraft-server): PAPER, VANILLA, FABRIC, ..."
  type        = string
  default     = "PAPER"
}

variable "online_mode" {
  description = "Default ONLINE_MODE of the server (TRUE: Mojang accounts only). The bot overrides it per variant."
  type        = string
  default     = "TRUE"

  validation {
    condition     = contains(["TRUE", "FALSE"], var.online_mode)
    error_message = "online_mode is TRUE or FALSE."
  }
}

variable "cpu" {
  description = "CPU units of one game server task (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Memory of one game server task in MiB; must be a valid Fargate pair with cpu (1024 CPU: 2048 to 8192)."
  type        = number
  default     = 2048
}

variable "game_port" {
  description = "TCP port the game listens on and the bot pings (GAMESERVER_PORT)."
  type        = number
  default     = 25565
}

variable "game_port_allowed_cidrs" {
  description = "IPv4 CIDRs allowed to reach the game port. The host running the bot must be among them: it pings the servers."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "log_retention_days" {
  description = "Days the game servers' logs are kept in CloudWatch Logs."
  type        = number
  default     = 7
}

variable "vpc_cidr" {
  description = "CIDR of the VPC the game servers run in; two /24 public subnets are cut from it."
  type        = string
  default     = "10.42.0.0/16"
}

variable "events" {
  description = "Create the EventBridge rule and SQS queue that tell the bot of task changes within seconds (AWS_SQS_EVENTS_QUEUE_URL). false: the bot polls only."
  type        = bool
  default     = true
}

variable "games" {
  description = <<-EOT
    Games besides the default Minecraft one, by template name: a task definition
    "<name>-<game>" with a container "game" each, and their ports opened to
    game_port_allowed_cidrs (RCON only to bot_cidrs). Upload the matching
    template from deploy/games/ with /game add.

    world = { path = "/data" } for a game whose template has a world (the
    same path): its task definition gets the companion container "world"
    that fills path from the world's newest backup before the game starts
    and backs it up to the worlds bucket after the game exited (needs
    worlds = true). stop_timeout: seconds the game has to quit and save
    after SIGTERM before it is killed and the backup starts (2 to 120).
  EOT
  type = map(object({
    image       = string
    cpu         = optional(number, 1024)
    memory      = optional(number, 2048)
    ports       = list(object({ port = number, protocol = string }))
    rcon_port   = optional(number)
    environment = optional(map(string), {})
    world = optional(object({
      path         = string
      stop_timeout = optional(number, 120)
    }))
  }))
  default = {}

  validation {
    condition     = alltrue([for g in values(var.games) : alltrue([for p in g.ports : contains(["tcp", "udp"], p.protocol)])])
    error_message = "A game port's protocol is tcp or udp."
  }

  validation {
    condition     = alltrue([for g in values(var.games) : g.world == null ? true : can(regex("^/[^\\s]*[^/\\s]$", g.world.path))])
    error_message = "A game's world.path is an absolute folder of its container, not / itself, without spaces and without a trailing slash (for example /data)."
  }

  validation {
    condition     = alltrue([for g in values(var.games) : g.world == null ? true : g.world.stop_timeout >= 2 && g.world.stop_timeout <= 120])
    error_message = "A game's world.stop_timeout is 2 to 120 seconds: Fargate kills a container at most 120 s after SIGTERM."
  }
}

variable "bot_cidrs" {
  description = "IPv4 CIDRs of the host running the bot (e.g. [\"203.0.113.7/32\"]): the only addresses allowed to reach the games' RCON port."
  type        = list(string)
  default     = []
}

variable "flow_logs" {
  description = "Record the VPC's connections, accepted and refused, in CloudWatch Logs for log_retention_days (a few cents a month for a few servers). false: no flow logs."
  type        = bool
  default     = true
}

variable "worlds" {
  description = "Create the S3 bucket of the worlds' backups (WORLD_S3_BUCKET) and the role of the games with a world. Required by any game of var.games with a world."
  type        = bool
  default     = false
}

variable "world_recovery_days" {
  description = "Days a world backup deleted or overwritten in the worlds bucket can still be recovered (S3 keeps it as a noncurrent version), then it is gone for good."
  type        = number
  default     = 7

  validation {
    condition     = var.world_recovery_days >= 1 && var.world_recovery_days == floor(var.world_recovery_days)
    error_message = "world_recovery_days is a whole number of days, at least 1."
  }
}

variable "spawner_image" {
  description = "The bot's own image, which the companion container of games with a world runs (spawner world sidecar). Pin it to the bot's version (a tag or a digest): the companion and the bot must agree."
  type        = string
  default     = "ghcr.io/mineral-contest/spawner:latest"
}

variable "alerts_topic" {
  description = "Create an SNS topic for the bot's alerts (ALERT_SNS_TOPIC_ARN), which the bot may publish to and read, and nothing else. Subscribe to it yourself (email, SMS, a queue)."
  type        = bool
  default     = false
}
