# git and git-lfs for the git-lfs tests (Tests/TroveEndToEndTests/LFS).
apt_install git git-lfs
