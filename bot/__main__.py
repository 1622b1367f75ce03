from bot.cli import main

if __name__ == "__main__":  # spawned workers import the main module again
    main()
