# The bot's record of the servers it runs: one item per task, keyed by the task
# ARN. The attribute names are the original JavaScript bot's, so its table can
# be adopted (see the table_name variable).
resource "aws_dynamodb_table" "servers" {
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "taskId"

  attribute {
    name = "taskId"
    type = "S"
  }

  # The servers' sessions (session/<id>) and the monthly reports sent
  # (report/<YYYY-MM>) carry expiresAt, in Unix seconds, 13 months after the
  # session ended: DynamoDB deletes them then, at no cost (usually within a
  # few days of that time; the bot also prunes what is older). Server,
  # game and cooldown records have no expiresAt and are never deleted by it.
  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  # Point-in-time recovery: the records can be put back as they were at any
  # second of the last 35 days (a mistaken delete, a bad upgrade). It is
  # billed by the table's size, a few kilobytes here.
  point_in_time_recovery {
    enabled = true
  }
}
