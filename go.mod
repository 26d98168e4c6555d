module github.com/ignity/ignity

go 1.26.0

require (
	github.com/joho/godotenv v1.5.1
	github.com/kballard/go-shellquote v0.0.0-20180428030007-95032a82bc51
	golang.org/x/sys v0.49.0
)
