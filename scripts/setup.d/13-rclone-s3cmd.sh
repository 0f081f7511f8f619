# rclone and s3cmd for the S3 API tests (Debian packages).
apt_install rclone s3cmd
