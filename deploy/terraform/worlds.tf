# Worlds that outlive their servers (var.worlds): the bucket of their backups
# (WORLD_S3_BUCKET), objects "worlds/<world id>/<backup id>.tar.gz" and
# ".json", and the role of the games with a world, whose companion container
# pulls the newest backup before the game starts and pushes a new one after
# the game exited (games.tf).

locals {
  worlds_prefix = "worlds/"
  world_bucket  = one(aws_s3_bucket.worlds[*].bucket)
  world_objects = var.worlds ? "${aws_s3_bucket.worlds[0].arn}/${local.worlds_prefix}*" : null
}

# Bucket names are global: the account id keeps this one to this account.
# No force_destroy: `terraform destroy` stops at a bucket that holds worlds
# rather than deleting them; empty it first if that is what is meant.
resource "aws_s3_bucket" "worlds" {
  count = var.worlds ? 1 : 0

  bucket = "${lower(var.name)}-worlds-${local.account_id}"
}

# Nothing in it is ever public: downloads are presigned links that expire
# in 15 minutes.
resource "aws_s3_bucket_public_access_block" "worlds" {
  count = var.worlds ? 1 : 0

  bucket                  = aws_s3_bucket.worlds[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs off: the bucket's owner owns every object, and only IAM decides.
resource "aws_s3_bucket_ownership_controls" "worlds" {
  count = var.worlds ? 1 : 0

  bucket = aws_s3_bucket.worlds[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Encrypted at rest with S3's own keys (SSE-S3). The AWS-managed KMS key
# (aws/s3) would protect no more in an account one admin runs, since its key
# policy lets every identity of the account that may use S3 use it, and it
# bills KMS requests; a key of our own is the table's and the logs' case
# (.trivyignore, AWS-0132).
resource "aws_s3_bucket_server_side_encryption_configuration" "worlds" {
  count = var.worlds ? 1 : 0

  bucket = aws_s3_bucket.worlds[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Versioning: a backup is a new object each time and is never overwritten by
# the bot, so versions only keep what was deleted (pruned backups, a deleted
# world) or overwritten by mistake (the games' role may write any world's
# objects, see below) for world_recovery_days: a world deleted by mistake can
# be put back from the console within that time.
resource "aws_s3_bucket_versioning" "worlds" {
  count = var.worlds ? 1 : 0

  bucket = aws_s3_bucket.worlds[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "worlds" {
  count = var.worlds ? 1 : 0

  bucket = aws_s3_bucket.worlds[0].id

  rule {
    id     = "tidy"
    status = "Enabled"

    filter {}

    # The parts of an upload cut short (a task killed mid-push, a bot
    # stopped mid-backup) are billed until they are aborted.
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }

    noncurrent_version_expiration {
      noncurrent_days = var.world_recovery_days
    }

    # Once the versions behind it expired, a delete marker is removed too.
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.worlds]
}

# TLS only, whoever asks.
data "aws_iam_policy_document" "worlds_bucket" {
  count = var.worlds ? 1 : 0

  statement {
    sid     = "TLSOnly"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.worlds[0].arn,
      "${aws_s3_bucket.worlds[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "worlds" {
  count = var.worlds ? 1 : 0

  bucket = aws_s3_bucket.worlds[0].id
  policy = data.aws_iam_policy_document.worlds_bucket[0].json

  # A bucket policy is refused while the public access block is being set.
  depends_on = [aws_s3_bucket_public_access_block.worlds]
}

# The role of the tasks of games with a world. ECS gives a task's role to
# every container of the task, the game's included: so it may read and
# write worlds' backups but delete none, and nothing outside worlds/. It
# cannot be narrowed to one world (a task role is the same for every task
# of the definition); versioning keeps what it overwrites. The bot prunes.
resource "aws_iam_role" "world_task" {
  count = var.worlds ? 1 : 0

  name               = "${var.name}-world-task"
  description        = "Games with a world: their companion pulls and pushes backups under worlds/ of the worlds bucket"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "world_task" {
  count = var.worlds ? 1 : 0

  # ListObjectsV2 of one world's backups; HeadObject is GetObject's.
  statement {
    sid       = "ListWorlds"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.worlds[0].arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.worlds_prefix}*"]
    }
  }

  # Multipart uploads are PutObject's (create, parts, complete).
  statement {
    sid = "PullAndPushWorlds"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
    ]
    resources = [local.world_objects]
  }
}

resource "aws_iam_role_policy" "world_task" {
  count = var.worlds ? 1 : 0

  name   = "pull-and-push-worlds"
  role   = aws_iam_role.world_task[0].id
  policy = data.aws_iam_policy_document.world_task[0].json
}
