from citybrain.cli.main import main

main()
