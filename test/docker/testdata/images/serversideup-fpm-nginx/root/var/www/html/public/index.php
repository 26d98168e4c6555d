<?php
echo "serversideup-like: PHP ", PHP_VERSION, " answered through nginx, pool ", getenv("PHP_FPM_POOL_NAME"), "\n";
