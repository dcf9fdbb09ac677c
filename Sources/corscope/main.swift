import CorscopeCLI
Corscope.main()
