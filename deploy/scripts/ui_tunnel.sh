#!/usr/bin/env bash
# Open the deployed Dagster UI on http://127.0.0.1:${LOCAL_PORT:-3000} through an SSM port-forward
# into the webserver task (ECS Exec): no load balancer, nothing exposed to the internet.
# Needs the AWS CLI v2 and the Session Manager plugin; STACK_NAME defaults to HfCroissant.
set -euo pipefail
# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "$0")/lib.sh"

region="$(aws_region)"
cluster="$(stack_output ClusterName)"
service="$(stack_output WebserverServiceName)"
[ -n "$cluster" ] && [ "$cluster" != None ] || die "stack $STACK_NAME not found in $region"

task="$(aws ecs list-tasks --region "$region" --cluster "$cluster" --service-name "$service" \
    --desired-status RUNNING --query 'taskArns[0]' --output text)"
[ -n "$task" ] && [ "$task" != None ] || die "no running webserver task in $cluster/$service"
runtime_id="$(aws ecs describe-tasks --region "$region" --cluster "$cluster" --tasks "$task" \
    --query "tasks[0].containers[?name=='webserver'].runtimeId | [0]" --output text)"

echo "Dagster UI: http://127.0.0.1:${LOCAL_PORT:-3000}  (Ctrl-C to close the tunnel)"
exec aws ssm start-session --region "$region" \
    --target "ecs:${cluster}_${task##*/}_${runtime_id}" \
    --document-name AWS-StartPortForwardingSession \
    --parameters "{\"portNumber\":[\"3000\"],\"localPortNumber\":[\"${LOCAL_PORT:-3000}\"]}"
