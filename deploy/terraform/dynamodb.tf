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

  # Point-in-time recovery: the records can be put back as they were at any
  # second of the last 35 days (a mistaken delete, a bad upgrade). It is
  # billed by the table's size, a few kilobytes here.
  point_in_time_recovery {
    enabled = true
  }
}
