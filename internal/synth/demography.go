package synth

import "math"

// maxAge is the oldest age the generator produces.
const maxAge = 104

// englandBands is the population of England by five-year age band (0–4 …
// 85–89, 90+) in thousands, males then females, rounded from the ONS mid-2022
// estimates (recalled, not copied: it gives 50.7% female, 18.6% aged 65+ and
// 2.5% aged 85+, as the published figures do).
var englandBands = [2][19]float64{
	{1640, 1780, 1810, 1700, 1760, 1880, 1950, 1900, 1800, 1720, 1930, 1920, 1650, 1400, 1300, 1040, 640, 370, 190},
	{1560, 1695, 1720, 1610, 1720, 1900, 2000, 1940, 1820, 1760, 1990, 1970, 1710, 1480, 1420, 1180, 790, 520, 370},
}

// ageWeights spreads the bands over single years: uniformly within a band,
// and geometrically (×0.8 a year) over 90–104. Index [sex][age], sex 0 male.
func ageWeights() [2][maxAge + 1]float64 {
	var w [2][maxAge + 1]float64
	for s := range 2 {
		for band := range 18 {
			for a := band * 5; a < band*5+5; a++ {
				w[s][a] = englandBands[s][band] / 5
			}
		}
		var tail, x float64 = 0, 1
		for a := 90; a <= maxAge; a++ {
			tail += x
			x *= 0.8
		}
		x = 1
		for a := 90; a <= maxAge; a++ {
			w[s][a] = englandBands[s][18] * x / tail
			x *= 0.8
		}
	}
	return w
}

// lifeKnots is annual probability of death by age (both sexes), log-linear
// between knots: England's life tables give about 0.1% at 40, 1% at 65, 4% at
// 80 and 15% at 90.
var lifeKnots = [...]struct{ age, q float64 }{
	{0, 0.0040}, {1, 0.0002}, {10, 0.0001}, {20, 0.0004}, {30, 0.0006}, {40, 0.0010},
	{50, 0.0025}, {65, 0.0100}, {80, 0.0400}, {90, 0.1500}, {100, 0.4000}, {110, 0.6000},
}

// qx is the annual probability of death at age a for sex s (0 male): male
// mortality runs about 20% above the average, female about 17% below.
func qx(s, a int) float64 {
	af := float64(a)
	k := 1
	for k < len(lifeKnots)-1 && lifeKnots[k].age < af {
		k++
	}
	lo, hi := lifeKnots[k-1], lifeKnots[k]
	t := (af - lo.age) / (hi.age - lo.age)
	q := math.Exp(math.Log(lo.q) + t*(math.Log(hi.q)-math.Log(lo.q)))
	if s == 0 {
		q *= 1.2
	} else {
		q *= 0.83
	}
	return math.Min(q, 0.7)
}

// ethnicities are NHS ethnic category codes with England's 2021 census
// shares (percent).
var ethnicities = [...]struct {
	code  string
	share float64
}{
	{"A", 73.5}, {"B", 0.9}, {"C", 6.6},
	{"D", 0.9}, {"E", 0.5}, {"F", 0.8}, {"G", 0.8},
	{"H", 3.3}, {"J", 2.8}, {"K", 1.1}, {"L", 2.4},
	{"M", 1.1}, {"N", 2.6}, {"P", 0.5},
	{"R", 0.7}, {"S", 1.5},
}

// Common UK names. A generated person is a combination of these, which a
// real person may share, but never with a real NHS number or postcode.
var femaleNames = [...]string{
	"Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia",
	"Grace", "Freya", "Willow", "Florence", "Emily", "Ella", "Poppy", "Evie", "Elsie", "Charlotte",
	"Evelyn", "Sienna", "Sofia", "Daisy", "Phoebe", "Sophie", "Alice", "Harper", "Matilda", "Ruby",
	"Emilia", "Maya", "Millie", "Isabelle", "Eva", "Luna", "Jessica", "Aria", "Chloe", "Esme",
	"Margaret", "Patricia", "Susan", "Elizabeth", "Mary", "Jean", "Joan", "Christine", "Janet", "Linda",
	"Sarah", "Helen", "Julie", "Karen", "Nicola", "Claire", "Lisa", "Michelle", "Emma", "Rachel",
	"Joanne", "Amanda", "Louise", "Kelly", "Laura", "Rebecca", "Hannah", "Katie", "Amy", "Lauren",
	"Gemma", "Victoria", "Catherine", "Anne", "Jane", "Barbara", "Dorothy", "Pauline", "Sandra", "Carol",
	"Hazel", "Irene", "Doreen", "Maureen", "Brenda", "Shirley", "Valerie", "Gillian", "Fatima", "Aisha",
	"Priya", "Zara", "Amira", "Maryam", "Ayesha", "Nadia", "Zoe", "Abigail", "Megan", "Holly",
}

var maleNames = [...]string{
	"Oliver", "George", "Noah", "Arthur", "Leo", "Muhammad", "Oscar", "Harry", "Archie", "Jack",
	"Henry", "Charlie", "Freddie", "Theodore", "Thomas", "Finley", "Theo", "Alfie", "Jacob", "William",
	"Isaac", "Tommy", "Lucas", "Albie", "Edward", "Joshua", "James", "Alexander", "Max", "Louie",
	"David", "John", "Michael", "Peter", "Robert", "Paul", "Andrew", "Richard", "Mark", "Stephen",
	"Christopher", "Ian", "Kevin", "Gary", "Anthony", "Daniel", "Matthew", "Simon", "Martin", "Neil",
	"Brian", "Kenneth", "Alan", "Derek", "Keith", "Graham", "Colin", "Roy", "Trevor", "Raymond",
	"Dennis", "Barry", "Terence", "Malcolm", "Geoffrey", "Philip", "Stuart", "Craig", "Jason", "Lee",
	"Darren", "Wayne", "Dean", "Scott", "Ryan", "Adam", "Luke", "Samuel", "Benjamin", "Nathan",
	"Liam", "Connor", "Callum", "Kieran", "Jordan", "Ethan", "Mohammed", "Ali", "Omar", "Yusuf",
	"Arjun", "Rohan", "Hamza", "Ibrahim", "Kwame", "Tunde", "Sean", "Patrick", "Gareth", "Rhys",
}

var familyNames = [...]string{
	"Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
	"Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
	"Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
	"Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen",
	"James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths",
	"Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy",
	"Miller", "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh",
	"Begum", "Wilkinson", "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali",
	"Hunt", "Hussain", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight",
	"Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey",
}

// Practice names are a place word and a kind, so they read like real ones
// without naming a real practice's town.
var placeWords = [...]string{
	"Riverside", "Parkview", "Meadowbank", "Hillcrest", "Oakfield", "Willowbrook", "Brookside", "Elmwood",
	"Ashgrove", "Beechwood", "Cedar", "Fernlea", "Greenacres", "Hawthorn", "Kingsway", "Lakeside",
	"Millbrook", "Northgate", "Orchard", "Priory", "Queensway", "Rosehill", "Southfield", "Stonebridge",
	"Thornbury", "Valley", "Westgate", "Woodlands", "Abbey", "Bridge Street", "Canal Side", "Castle View",
	"Church Lane", "Clifton", "Eastfield", "Fairview", "Highfield", "Holly Bank", "Larchwood", "Marsh Lane",
}

var practiceKinds = [...]string{"Medical Practice", "Surgery", "Health Centre", "Medical Centre", "Family Practice"}

// postcodeLetters are the letters the inward part of a UK postcode may use.
const postcodeLetters = "ABDEFGHJLNPQRSTUWXYZ"
