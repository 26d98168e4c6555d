# Runs before the process manager: one nginx worker a CPU, two at most.
echo "run.d/10-nginx-workers.sh" >>/tmp/boot-order
cpus=$(nproc)
workers=$((cpus > 2 ? 2 : cpus))
sed -i "s/^worker_processes .*/worker_processes ${workers};/" /etc/nginx/nginx.conf
