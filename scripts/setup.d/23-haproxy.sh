# HAProxy: the load-balancer test checks etc/haproxy-troved.cfg and routes through it on loopback.
apt_install haproxy
