<?php
echo "Hello from PHP ", PHP_VERSION, " under ignity\n";
