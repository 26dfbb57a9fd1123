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
}
