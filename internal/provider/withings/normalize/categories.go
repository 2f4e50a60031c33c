package normalize

// workoutCategory names the code of a workout's category, as the
// spec's workout_object lists them.
func workoutCategory(code int64) (string, bool) {
	switch code {
	case 1:
		return "Walk", true
	case 2:
		return "Run", true
	case 3:
		return "Hiking", true
	case 4:
		return "Skating", true
	case 5:
		return "BMX", true
	case 6:
		return "Bicycling", true
	case 7:
		return "Swimming", true
	case 8:
		return "Surfing", true
	case 9:
		return "Kitesurfing", true
	case 10:
		return "Windsurfing", true
	case 11:
		return "Bodyboard", true
	case 12:
		return "Tennis", true
	case 13:
		return "Table tennis", true
	case 14:
		return "Squash", true
	case 15:
		return "Badminton", true
	case 16:
		return "Lift weights", true
	case 17:
		return "Fitness", true
	case 18:
		return "Elliptical", true
	case 19:
		return "Pilates", true
	case 20:
		return "Basket-ball", true
	case 21:
		return "Soccer", true
	case 22:
		return "Football", true
	case 23:
		return "Rugby", true
	case 24:
		return "Volley-ball", true
	case 25:
		return "Waterpolo", true
	case 26:
		return "Horse riding", true
	case 27:
		return "Golf", true
	case 28:
		return "Yoga", true
	case 29:
		return "Dancing", true
	case 30:
		return "Boxing", true
	case 31:
		return "Fencing", true
	case 32:
		return "Wrestling", true
	case 33:
		return "Martial arts", true
	case 34:
		return "Skiing", true
	case 35:
		return "Snowboarding", true
	case 36:
		return "Other", true
	case 128:
		return "No activity", true
	case 187:
		return "Rowing", true
	case 188:
		return "Zumba", true
	case 191:
		return "Baseball", true
	case 192:
		return "Handball", true
	case 193:
		return "Hockey", true
	case 194:
		return "Ice hockey", true
	case 195:
		return "Climbing", true
	case 196:
		return "Ice skating", true
	case 272:
		return "Multi-sport", true
	case 306:
		return "Indoor walk", true
	case 307:
		return "Indoor running", true
	case 308:
		return "Indoor cycling", true
	case 455:
		return "Standup Paddleboarding", true
	case 456:
		return "Padel", true
	case 457:
		return "Gaming", true
	case 490:
		return "Beach volleyball", true
	case 491:
		return "Stair Stepper", true
	case 492:
		return "Skateboarding", true
	case 493:
		return "Parkour", true
	case 494:
		return "Kayaking", true
	case 495:
		return "Canoeing", true
	case 496:
		return "Sailing", true
	case 497:
		return "Fishing", true
	case 498:
		return "Trail Running", true
	case 499:
		return "Snowshoeing", true
	case 500:
		return "Paintball", true
	case 501:
		return "Archery", true
	case 502:
		return "Scuba Diving", true
	case 503:
		return "Baseball Training", true
	case 504:
		return "Biathlon", true
	case 505:
		return "Bocce", true
	case 506:
		return "Pétanque", true
	case 507:
		return "Paragliding", true
	case 508:
		return "Frisbee", true
	case 509:
		return "Skydiving", true
	case 510:
		return "Pickleball", true
	case 511:
		return "Cornhole", true
	case 512:
		return "Dodgeball", true
	case 513:
		return "Ultimate", true
	case 514:
		return "Teqball", true
	case 515:
		return "Pushing a Wheelchair (Running Pace)", true
	case 516:
		return "Pushing a Wheelchair (Walking Pace)", true
	case 517:
		return "Athletics", true
	case 518:
		return "Track Cycling", true
	case 519:
		return "Pentathlon", true
	case 520:
		return "Sport Shooting", true
	case 521:
		return "Triathlon", true
	case 522:
		return "Diving", true
	case 523:
		return "Mountain Biking", true
	case 524:
		return "Gravel Biking", true
	case 525:
		return "E-Biking", true
	case 526:
		return "E-Mountain Biking", true
	case 527:
		return "Handcycling", true
	case 528:
		return "Velomobile", true
	case 529:
		return "Backcountry Skiing", true
	case 530:
		return "Nordic Skiing", true
	case 531:
		return "Roller Skiing", true
	case 532:
		return "Racquetball", true
	case 534:
		return "Hip Hop", true
	case 535:
		return "Muaythai", true
	case 536:
		return "Taekwondo", true
	case 537:
		return "Judo", true
	case 538:
		return "Trampoline", true
	case 539:
		return "Standing Frame", true
	case 540:
		return "Seated Strenght", true
	case 541:
		return "Seated Cardio", true
	case 542:
		return "Walk With Walker", true
	case 543:
		return "Walk With Cane", true
	case 544:
		return "Breaking", true
	case 545:
		return "Chores", true
	case 546:
		return "Crossfit", true
	case 547:
		return "Spinclass", true
	case 548:
		return "Cricket", true
	case 549:
		return "Flamenco Dancing", true
	case 550:
		return "HIIT", true
	case 551:
		return "Meditation", true
	case 552:
		return "Stretching", true
	case 553:
		return "Yard Work Gardening", true
	case 554:
		return "Cleaning", true
	case 555:
		return "Public Speaking", true
	case 556:
		return "Spikeball", true
	case 557:
		return "Lacrosse", true
	case 558:
		return "Baby Wearing", true
	case 559:
		return "Dog Walking", true
	case 560:
		return "Breathing excercises", true
	case 561:
		return "Balance Drills", true
	case 562:
		return "Pushing a Stroller", true
	case 563:
		return "Toddler Wearing", true
	case 564:
		return "Bowling", true
	case 565:
		return "Lasertag", true
	case 566:
		return "Nordic Walking", true
	case 567:
		return "Sumo Wrestling", true
	case 568:
		return "Cooking", true
	}
	return "", false
}
