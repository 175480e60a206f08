from podgrep.cli import main

main()
