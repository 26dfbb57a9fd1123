terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = var.name
      ManagedBy = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  table_name = coalesce(var.table_name, "${var.name}-servers")

  # The JVM heap: three quarters of the task memory, the rest for the JVM's own
  # overhead and the OS. itzg/minecraft-server reads it from MEMORY.
  jvm_memory = "${floor(var.memory * 3 / 4)}M"
}
