# The openssl CLI: the TLS end-to-end tests make their test CA and certificates with it.
apt_install openssl
